import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

export const BIN = path.resolve(__dirname, '..', '..', 'bin', 'mldb.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment a spawned CLI gets: nothing of the developer's (no MLDB_* settings), but the
 * run's temporary root, so whatever it writes in a temporary folder is removed with the run.
 */
function cleanEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: os.tmpdir(), ...env };
}

/** Runs the built CLI as a user would: a child process, no TTY, a clean environment. */
export function mldb(args: string[], env: Record<string, string | undefined> = {}, cwd = os.tmpdir()): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: cleanEnv(env),
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function mldbAsync(args: string[], env: Record<string, string | undefined> = {}, cwd = os.tmpdir()) {
  return spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: cleanEnv(env),
    stdio: 'pipe',
  });
}

/** A CLI running in the background, its output collected as it comes. */
export interface RunningCli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

export function mldbRunning(args: string[], env: Record<string, string | undefined> = {}): RunningCli {
  const child = mldbAsync(args, env);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}
