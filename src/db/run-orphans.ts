import os from 'node:os';
import { escapeId } from './identifiers';
import type { Db } from './db';
import { isAlive } from '../process-alive';
import { RUNS_TABLE } from './schema';
import type { RunStatus } from './enums';

const ORPHAN_REASON = (pid: number | null) =>
  `the training process (pid ${pid}) ended without recording its end: it was killed, the machine stopped, ` +
  'or the database was unreachable when it ended';

/** Runs still `running` on this host whose process is gone (killed, power loss). */
async function orphanRuns(db: Db): Promise<Array<{ id: number; pid: number | null }>> {
  const running = await db.query<{ id: number; pid: number | null }>(
    `SELECT id, pid FROM ${escapeId(RUNS_TABLE)} WHERE status = 'running' AND host = ?`,
    [os.hostname()],
  );
  return running.filter((r) => r.pid !== null && !isAlive(Number(r.pid)));
}

/**
 * A run whose process was killed (SIGKILL, power loss) cannot record its end. Runs still
 * `running` on this host whose process is gone are settled as `interrupted`, with a reason, so
 * that listings tell the truth. Runs of other hosts are left as they are: they cannot be checked.
 */
export async function settleOrphanRuns(db: Db): Promise<number> {
  let settled = 0;
  for (const r of await orphanRuns(db)) {
    if (!(await settle(db, r))) break;
    settled++;
  }
  return settled;
}

/**
 * How a reader that writes nothing (the dashboard) tells the same truth: orphaned runs are shown
 * as settling would record them, and the table is left for a command that may write.
 */
export async function shownAsSettled<T extends { id: number; status: RunStatus; error: string | null }>(
  db: Db,
  runs: T[],
): Promise<T[]> {
  if (!runs.some((r) => r.status === 'running')) return runs;
  const orphans = new Map((await orphanRuns(db)).map((o) => [Number(o.id), o.pid]));
  return runs.map((r) =>
    orphans.has(r.id) ? { ...r, status: 'interrupted' as RunStatus, error: ORPHAN_REASON(orphans.get(r.id)!) } : r,
  );
}

/** `write: false` reads runs without settling orphans in the table (they are shown settled). */
export interface RunReading {
  write?: boolean;
}

/** False when this user may not UPDATE runs (a read-only user lists them as they are). */
async function settle(db: Db, r: { id: number; pid: number | null }): Promise<boolean> {
  try {
    await db.run(
      `UPDATE ${escapeId(RUNS_TABLE)} SET status = 'interrupted', error = ? WHERE id = ? AND status = 'running'`,
      [ORPHAN_REASON(r.pid), r.id],
    );
    return true;
  } catch (e) {
    if ((e as { reason?: string }).reason === 'privilege-missing') return false;
    throw e;
  }
}
