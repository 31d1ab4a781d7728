import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { isAlive } from './process-alive';

/**
 * The arguments a running process was started with, or undefined when it is gone or they
 * cannot be read (another user's process on a hardened /proc). A pid alone names whatever
 * process holds that number now; its command line says whether it is the one we started.
 */
export function processArguments(pid: number): string[] | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  if (process.platform === 'linux') {
    try {
      const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const args = raw.split('\0');
      if (args.at(-1) === '') args.pop();
      return args.length > 0 ? args : undefined;
    } catch {
      return undefined;
    }
  }
  // Elsewhere (macOS, BSDs) ps prints them joined by spaces: good enough to find one argument.
  const r = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
  const line = r.status === 0 ? r.stdout.trim() : '';
  return line ? line.split(' ') : undefined;
}
