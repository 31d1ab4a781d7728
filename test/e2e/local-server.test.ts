import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { mldb, mldbAsync } from '../helpers/cli';
import { tempDir } from '../helpers/fixtures';
import { isAlive } from '../../src/process-alive';

/** `mldb db start|stop|status` act only on this folder's own server, through files of its own. */

const bystanders: ChildProcess[] = [];
afterAll(() => bystanders.forEach((p) => p.kill('SIGKILL')));

/** A process that is not a database server, holding a pid a stale state file could name. */
function bystander(): number {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  bystanders.push(child);
  return child.pid!;
}

function plantState(projectDir: string, state: Record<string, unknown>): string {
  const file = path.join(projectDir, '.mldb', 'server.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const dataDir = path.join(projectDir, '.mldb', 'mysql-data');
  fs.writeFileSync(
    file,
    JSON.stringify({
      host: '127.0.0.1',
      port: 1,
      user: 'root',
      binary: '/usr/sbin/mariadbd',
      version: 'x',
      dataDir,
      ...state,
    }),
  );
  return file;
}

test('db stop and db status leave alone a process that only shares the pid the state file names', () => {
  const cwd = tempDir();
  const pid = bystander();
  const file = plantState(cwd, { pid });

  const status = mldb(['db', 'status'], {}, cwd);
  expect(status.stdout).toMatch(new RegExp(`names pid ${pid}, which is not this folder's server`));
  expect(status.stdout).not.toMatch(/local server: mariadbd pid/);

  const stop = mldb(['db', 'stop'], {}, cwd);
  expect(stop.stderr).toBe('');
  expect(stop.code).toBe(0);
  expect(stop.stdout).toMatch(new RegExp(`named pid ${pid}, which is not this folder's server`));
  expect(isAlive(pid)).toBe(true);
  expect(fs.existsSync(file)).toBe(false);
});

test("db stop leaves alone another folder's running server, named with its own data folder", () => {
  const cwd = tempDir();
  const pid = Number(process.env.MLDB_TEST_SERVER_PID);
  const dataDir = process.env.MLDB_TEST_SERVER_DIR;
  if (!pid || !dataDir) return; // MLDB_TEST_URL names a server this suite did not start: no pid to plant
  plantState(cwd, { pid, dataDir });
  const stop = mldb(['db', 'stop'], {}, cwd);
  expect(stop.code).toBe(0);
  expect(stop.stdout).toMatch(/which is not this folder's server/);
  expect(isAlive(pid)).toBe(true);
});

test('db start refuses a state file that is a link, and writes nothing through it', () => {
  const cwd = tempDir();
  const outside = path.join(tempDir(), 'precious.txt');
  fs.writeFileSync(outside, 'keep me\n');
  fs.mkdirSync(path.join(cwd, '.mldb'));
  fs.symlinkSync(outside, path.join(cwd, '.mldb', 'server.json'));

  for (const args of [
    ['db', 'start'],
    ['db', 'stop'],
    ['db', 'status'],
  ]) {
    const r = mldb(args, {}, cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^mldb: \.mldb\/server\.json is a symbolic link, .*: remove the link/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }
  expect(fs.readFileSync(outside, 'utf8')).toBe('keep me\n');
  expect(fs.existsSync(path.join(cwd, '.mldb', 'mysql-data'))).toBe(false);
});

test('two db start at once in one folder start one server; db stop stops it', async () => {
  const cwd = tempDir();
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = mldbAsync(args, {}, cwd);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.once('exit', (code) => resolve({ code, stdout, stderr }));
    });
  const [a, b] = await Promise.all([run(['db', 'start']), run(['db', 'start'])]);
  try {
    expect([a.code, b.code]).toEqual([0, 0]);
    const lines = [a.stdout, b.stdout].map((s) => s.split('\n')[0]).sort();
    expect(lines[0]).toMatch(/^already running: local server/);
    expect(lines[1]).toMatch(/^started local server/);
    const pids = [a.stdout, b.stdout].map((s) => Number(/\(pid (\d+)\)/.exec(s)![1]));
    expect(pids[0]).toBe(pids[1]);
    expect(fs.existsSync(path.join(cwd, '.mldb', 'lock'))).toBe(false);

    const status = mldb(['db', 'status'], {}, cwd);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`local server: mariadbd pid ${pids[0]} on`));
  } finally {
    const stop = mldb(['db', 'stop'], {}, cwd);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/^stopped the local server \(pid \d+\)/);
  }
  expect(fs.existsSync(path.join(cwd, '.mldb', 'server.json'))).toBe(false);
});

test('a lock left by a killed db start does not block the next one', () => {
  const cwd = tempDir();
  fs.mkdirSync(path.join(cwd, '.mldb'));
  // A pid that is no mldb process: the holder died and the number went to something else.
  fs.writeFileSync(path.join(cwd, '.mldb', 'lock'), JSON.stringify({ pid: bystander() }));
  const stop = mldb(['db', 'stop'], {}, cwd);
  expect(stop.code).toBe(0);
  expect(stop.stdout).toMatch(/^no local server was running/);
  expect(fs.existsSync(path.join(cwd, '.mldb', 'lock'))).toBe(false);
});
