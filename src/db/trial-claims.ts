import type { Db, Queryable } from './db';
import { escapeId } from './identifiers';
import { STUDIES_TABLE, TRIALS_TABLE } from './schema';
import { trialRow, TRIAL_COLUMNS, type TrialRow } from './studies';
import { retryOnLockConflict } from './transient';

/**
 * A worker's statements on its study's trials: claim one (a waiting one, a stale one, or a new
 * one), heartbeat it, report its values, finish or release it. Every time is the server's
 * (NOW(3)), never a worker's clock; every write of a running trial names its worker, so a worker
 * whose trial was given to another (its heartbeat went stale) changes nothing.
 */

const S = escapeId(STUDIES_TABLE);
const T = escapeId(TRIALS_TABLE);

/** Failed trials go back to the queue: a plan run again retries what failed, as it always has. */
export async function requeueFailed(db: Db, studyId: number): Promise<number> {
  const r = await retryOnLockConflict(() =>
    db.run(`UPDATE ${T} SET state = 'waiting', worker = NULL, error = NULL WHERE study_id = ? AND state = 'failed'`, [
      studyId,
    ]),
  );
  return r.affectedRows;
}

const CLAIM_SET = `state = 'running', worker = ?, heartbeat_at = NOW(3), started_at = NOW(3), finished_at = NULL,
  attempts = attempts + 1, steps = '[]', value = NULL, run_id = NULL, error = NULL`;

async function claimQueued(
  conn: Queryable,
  studyId: number,
  worker: string,
  graceMs: number,
): Promise<TrialRow | null> {
  // SKIP LOCKED: workers claiming at once each take a different row instead of queueing on one.
  let [row] = await conn.query(
    `SELECT ${TRIAL_COLUMNS} FROM ${T} t WHERE t.study_id = ? AND t.state = 'waiting'
     ORDER BY t.number LIMIT 1 FOR UPDATE SKIP LOCKED`,
    [studyId],
  );
  // A trial whose worker stopped heartbeating (killed, its machine lost), whatever its host.
  row ??= (
    await conn.query(
      `SELECT ${TRIAL_COLUMNS} FROM ${T} t WHERE t.study_id = ? AND t.state = 'running'
         AND t.heartbeat_at < NOW(3) - INTERVAL ? MICROSECOND
       ORDER BY t.number LIMIT 1 FOR UPDATE SKIP LOCKED`,
      [studyId, Math.round(graceMs * 1000)],
    )
  )[0];
  if (!row) return null;
  const trial = trialRow(row);
  await conn.run(`UPDATE ${T} SET ${CLAIM_SET} WHERE id = ?`, [worker, trial.id]);
  return { ...trial, state: 'running', worker, attempts: trial.attempts + 1, steps: '[]', value: null };
}

/** A new trial for a sampler that suggests one at a time: the next number, under the study row's lock. */
async function claimNew(conn: Queryable, studyId: number, worker: string): Promise<TrialRow | null> {
  const [s] = await conn.query<{ next_number: number; trials: number }>(
    `SELECT next_number, trials FROM ${S} WHERE id = ? FOR UPDATE`,
    [studyId],
  );
  const number = Number(s.next_number);
  if (number >= Number(s.trials)) return null;
  const { insertId } = await conn.run(
    `INSERT INTO ${T} (study_id, number, state, worker, attempts, heartbeat_at, started_at, steps)
     VALUES (?, ?, 'running', ?, 1, NOW(3), NOW(3), '[]')`,
    [studyId, number, worker],
  );
  await conn.run(`UPDATE ${S} SET next_number = ? WHERE id = ?`, [number + 1, studyId]);
  return {
    id: insertId,
    number,
    state: 'running',
    params: null,
    worker,
    attempts: 1,
    value: null,
    steps: '[]',
    runId: null,
    error: null,
  };
}

/**
 * Claims one trial for `worker`: a waiting one, else one whose heartbeat is older than `graceMs`,
 * else (samplers that suggest) a new one while the study has trials left. One short transaction,
 * retried on a deadlock or lock wait timeout (errno 1213, 1205). null: nothing to claim now.
 */
export async function claimTrial(
  db: Db,
  studyId: number,
  worker: string,
  graceMs: number,
  suggests: boolean,
): Promise<TrialRow | null> {
  return retryOnLockConflict(() =>
    db.session(async (conn) => {
      // READ COMMITTED for this transaction only: a locking read that finds no waiting row then
      // takes no gap lock, so claims do not block (or deadlock with) the inserts and state
      // changes of other workers' trials.
      await conn.run('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await conn.run('START TRANSACTION');
      try {
        const row =
          (await claimQueued(conn, studyId, worker, graceMs)) ??
          (suggests ? await claimNew(conn, studyId, worker) : null);
        await conn.run('COMMIT');
        return row;
      } catch (e) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw e;
      }
    }),
  );
}

/** The trial's drawn parameters (a suggested trial is created before they are drawn). */
export async function setTrialParams(db: Db, id: number, worker: string, params: string): Promise<boolean> {
  const r = await db.run(`UPDATE ${T} SET params = ? WHERE id = ? AND worker = ? AND state = 'running'`, [
    params,
    id,
    worker,
  ]);
  return r.affectedRows > 0;
}

/** Keeps the trial's heartbeat fresh; false when the trial is no longer this worker's. */
export async function heartbeatTrial(db: Db, id: number, worker: string): Promise<boolean> {
  const r = await db.run(`UPDATE ${T} SET heartbeat_at = NOW(3) WHERE id = ? AND worker = ? AND state = 'running'`, [
    id,
    worker,
  ]);
  return r.affectedRows > 0;
}

/** The intermediate values so far (and a heartbeat); false when the trial is no longer this worker's. */
export async function reportTrialSteps(db: Db, id: number, worker: string, steps: string): Promise<boolean> {
  const r = await db.run(
    `UPDATE ${T} SET steps = ?, heartbeat_at = NOW(3) WHERE id = ? AND worker = ? AND state = 'running'`,
    [steps, id, worker],
  );
  return r.affectedRows > 0;
}

/** Ends the trial; false (nothing written) when it is no longer this worker's. */
export async function finishTrial(
  db: Db,
  id: number,
  worker: string,
  end: {
    state: 'completed' | 'pruned' | 'failed';
    value: number | null;
    steps: string;
    runId: number | null;
    error: string | null;
  },
): Promise<boolean> {
  const r = await retryOnLockConflict(() =>
    db.run(
      `UPDATE ${T} SET state = ?, value = ?, steps = ?, run_id = ?, error = ?, finished_at = NOW(3), heartbeat_at = NULL
       WHERE id = ? AND worker = ? AND state = 'running'`,
      [end.state, end.value, end.steps, end.runId, end.error?.slice(0, 1024) ?? null, id, worker],
    ),
  );
  return r.affectedRows > 0;
}

/** Gives the trial back to the queue (the worker was interrupted): another worker takes it at once. */
export async function releaseTrial(db: Db, id: number, worker: string): Promise<void> {
  await retryOnLockConflict(() =>
    db.run(
      `UPDATE ${T} SET state = 'waiting', worker = NULL, heartbeat_at = NULL
       WHERE id = ? AND worker = ? AND state = 'running'`,
      [id, worker],
    ),
  );
}
