import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors';
import { withFileLock } from '../file-lock';
import { processArguments } from '../process-command-line';
import { refuseLinkedState, stateDir } from '../server-state';

/** Long enough for a Spider head and its backends to start; past it, the holder is stuck. */
const WAIT_MS = 120_000;

/** A holder is an mldb process still running: a pid reused since by something else is no holder. */
function isLiveMldb(pid: number): boolean {
  return processArguments(pid)?.some((a) => a.includes('mldb')) ?? false;
}

/**
 * Runs `work` while no other `mldb db start|stop` in this folder does, so two of them at once
 * never start two servers on one data folder nor stop one the other is starting.
 */
export async function withStateLock<T>(projectDir: string, work: () => Promise<T>): Promise<T> {
  fs.mkdirSync(stateDir(projectDir), { recursive: true });
  refuseLinkedState(projectDir);
  return withFileLock(
    path.join(stateDir(projectDir), 'lock'),
    {
      waitMs: WAIT_MS,
      holds: isLiveMldb,
      busy: (pid) =>
        new UsageError(
          `another mldb (pid ${pid}) has been starting or stopping the local server in this folder for ` +
            `${WAIT_MS / 1000} s`,
          'wait for it to finish, or stop that process',
          { reason: 'state-locked' },
        ),
    },
    work,
  );
}
