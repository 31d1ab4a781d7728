import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors';
import { processArguments } from '../process-command-line';
import { refuseLinkedState, stateDir } from './server-state';

/** Long enough for a Spider head and its backends to start; past it, the holder is stuck. */
const WAIT_MS = 120_000;
const POLL_MS = 100;

interface Holder {
  pid: number;
}

function lockFile(projectDir: string): string {
  return path.join(stateDir(projectDir), 'lock');
}

/**
 * A lock held by an mldb process that is still running. One that died (killed during `db start`)
 * leaves its file behind, and a pid reused since by something else is no mldb: both are stale.
 */
function heldByLiveMldb(file: string): Holder | undefined {
  let holder: Holder;
  try {
    holder = JSON.parse(fs.readFileSync(file, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
  const args = processArguments(Number(holder?.pid));
  return args?.some((a) => a.includes('mldb')) ? holder : undefined;
}

/**
 * Moves a stale lock aside under a name of our own before looking at it again, so that two
 * processes clearing the same stale lock never delete a fresh one the other has just taken.
 */
function clearStale(file: string): void {
  const aside = `${file}.${process.pid}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // someone else cleared or took it: look again
  }
  if (heldByLiveMldb(aside)) fs.renameSync(aside, file);
  else fs.rmSync(aside, { force: true });
}

/**
 * Runs `work` while no other `mldb db start|stop` in this folder does, so two of them at once
 * never start two servers on one data folder nor stop one the other is starting. The lock is a
 * file created exclusively (O_EXCL never follows a link), because Node has no flock.
 */
export async function withStateLock<T>(projectDir: string, work: () => Promise<T>): Promise<T> {
  fs.mkdirSync(stateDir(projectDir), { recursive: true });
  refuseLinkedState(projectDir);
  const file = lockFile(projectDir);
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      fs.writeFileSync(file, JSON.stringify({ pid: process.pid }) + '\n', { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = heldByLiveMldb(file);
    if (!holder) {
      clearStale(file);
      continue;
    }
    if (Date.now() > deadline) {
      throw new UsageError(
        `another mldb (pid ${holder.pid}) has been starting or stopping the local server in this folder for ` +
          `${WAIT_MS / 1000} s`,
        'wait for it to finish, or stop that process',
        { reason: 'state-locked' },
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  try {
    return await work();
  } finally {
    fs.rmSync(file, { force: true });
  }
}
