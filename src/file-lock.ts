import fs from 'node:fs';
import { isAlive } from './process-alive';

const POLL_MS = 50;

export interface LockOptions {
  /** How long to wait for another holder before giving up. */
  waitMs: number;
  /** Whether a holder named in the lock file still holds it (default: its pid is alive). */
  holds?: (pid: number) => boolean;
  /** The error when another live holder keeps it past waitMs. */
  busy: (pid: number) => Error;
}

function holder(file: string): number | undefined {
  try {
    const pid = Number((JSON.parse(fs.readFileSync(file, 'utf8')) as { pid?: unknown }).pid);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Moves a stale lock aside under a name of our own before looking at it again, so that two
 * processes clearing the same stale lock never delete a fresh one the other has just taken.
 */
function clearStale(file: string, holds: (pid: number) => boolean): void {
  const aside = `${file}.${process.pid}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // someone else cleared or took it: look again
  }
  const pid = holder(aside);
  if (pid !== undefined && holds(pid)) fs.renameSync(aside, file);
  else fs.rmSync(aside, { force: true });
}

/**
 * Runs `work` while this process holds `file`, a lock file created exclusively (O_EXCL never
 * follows a link) and naming its holder's pid, because Node has no flock. A lock whose holder
 * died (killed mid-work) is taken over; one held by a live process is waited for.
 */
export async function withFileLock<T>(file: string, o: LockOptions, work: () => Promise<T>): Promise<T> {
  const holds = o.holds ?? isAlive;
  const deadline = Date.now() + o.waitMs;
  for (;;) {
    try {
      fs.writeFileSync(file, JSON.stringify({ pid: process.pid }) + '\n', { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = holder(file);
    if (pid === undefined || !holds(pid)) {
      clearStale(file, holds);
      continue;
    }
    if (Date.now() > deadline) throw o.busy(pid);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  try {
    return await work();
  } finally {
    fs.rmSync(file, { force: true });
  }
}
