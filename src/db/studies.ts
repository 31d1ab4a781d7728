import type { Db, Queryable } from './db';
import { escapeId } from './identifiers';
import { RUNS_TABLE, STUDIES_TABLE, TRIALS_TABLE } from './schema';
import { retryOnLockConflict } from './transient';

/**
 * The statements of the study engine (src/study/): studies, and trials claimed by any number of
 * workers on any machines. Every time is the server's (NOW(3)), never a worker's clock; every
 * write of a running trial names its worker, so a worker whose trial was given to another (its
 * heartbeat went stale) changes nothing.
 */

const S = escapeId(STUDIES_TABLE);
const T = escapeId(TRIALS_TABLE);

export type TrialStateName = 'waiting' | 'running' | 'completed' | 'pruned' | 'failed';

export interface StudyRow {
  id: number;
  key: string;
  name: string;
  sampler: string;
  pruner: string;
  objective: string;
  direction: 'maximize' | 'minimize';
  trials: number;
  spec: string;
  createdAt: string;
}

export interface TrialRow {
  id: number;
  number: number;
  state: TrialStateName;
  /** JSON, null until a sampler has drawn them. */
  params: string | null;
  worker: string | null;
  attempts: number;
  value: number | null;
  /** JSON array of [step, value]. */
  steps: string | null;
  runId: number | null;
  error: string | null;
}

/** A trial row as listed, with its run's test accuracy when it trained a recorded run. */
export interface ListedTrial extends TrialRow {
  startedAt: string | null;
  finishedAt: string | null;
  /** Seconds since its last heartbeat, by the server's clock (running trials). */
  heartbeatAge: number | null;
  testAccuracy: number | null;
}

const TRIAL_COLUMNS = 't.id, t.number, t.state, t.params, t.worker, t.attempts, t.value, t.steps, t.run_id, t.error';

function trialRow(r: Record<string, unknown>): TrialRow {
  return {
    id: Number(r.id),
    number: Number(r.number),
    state: r.state as TrialStateName,
    params: (r.params as string | null) ?? null,
    worker: (r.worker as string | null) ?? null,
    attempts: Number(r.attempts),
    value: r.value === null || r.value === undefined ? null : Number(r.value),
    steps: (r.steps as string | null) ?? null,
    runId: r.run_id === null || r.run_id === undefined ? null : Number(r.run_id),
    error: (r.error as string | null) ?? null,
  };
}

function studyRow(r: Record<string, unknown>): StudyRow {
  return {
    id: Number(r.id),
    key: r.study_key as string,
    name: r.name as string,
    sampler: r.sampler as string,
    pruner: r.pruner as string,
    objective: r.objective as string,
    direction: r.direction as StudyRow['direction'],
    trials: Number(r.trials),
    spec: r.spec as string,
    createdAt: (r.created_at as Date).toISOString(),
  };
}

export async function findStudy(db: Queryable, key: string): Promise<StudyRow | undefined> {
  const [row] = await db.query(`SELECT * FROM ${S} WHERE study_key = ?`, [key]);
  return row ? studyRow(row) : undefined;
}

export async function getStudyById(db: Queryable, id: number): Promise<StudyRow | undefined> {
  const [row] = await db.query(`SELECT * FROM ${S} WHERE id = ?`, [id]);
  return row ? studyRow(row) : undefined;
}

/** The studies of an experiment name, the latest first. */
export async function studiesNamed(db: Queryable, name: string): Promise<StudyRow[]> {
  return (await db.query(`SELECT * FROM ${S} WHERE name = ? ORDER BY id DESC`, [name])).map(studyRow);
}

/** Grid cells per INSERT: far under any max_allowed_packet for a few short parameters each. */
const GRID_BATCH = 500;

/**
 * The study of `key`, created by whichever worker gets there first (the unique key settles a
 * race); a grid's trials are queued as `waiting`, once (INSERT IGNORE on (study, number): a worker
 * that died while queueing them leaves the rest to the next one).
 */
export async function ensureStudy(
  db: Db,
  study: Omit<StudyRow, 'id' | 'createdAt'>,
  gridParams: string[] | null,
): Promise<StudyRow> {
  await retryOnLockConflict(() =>
    db.run(
      `INSERT IGNORE INTO ${S} (study_key, name, sampler, pruner, objective, direction, trials, next_number, spec)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        study.key,
        study.name,
        study.sampler,
        study.pruner,
        study.objective,
        study.direction,
        study.trials,
        gridParams ? gridParams.length : 0,
        study.spec,
      ],
    ),
  );
  const row = (await findStudy(db, study.key))!;
  if (gridParams) {
    const [{ n }] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${T} WHERE study_id = ?`, [row.id]);
    for (let from = Number(n) === gridParams.length ? gridParams.length : 0; from < gridParams.length;) {
      const batch = gridParams.slice(from, from + GRID_BATCH);
      await retryOnLockConflict(() =>
        db.run(
          `INSERT IGNORE INTO ${T} (study_id, number, state, params)
           VALUES ${batch.map(() => "(?, ?, 'waiting', ?)").join(', ')}`,
          batch.flatMap((p, i) => [row.id, from + i, p]),
        ),
      );
      from += batch.length;
    }
  }
  return row;
}

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

/**
 * The latest `limit` trials of each state given, by number: what samplers and pruners learn from.
 * One index range per state (study, state, number), so the cost does not grow with the study.
 */
export async function recentTrials(
  db: Queryable,
  studyId: number,
  states: TrialStateName[],
  limit: number,
): Promise<TrialRow[]> {
  if (states.length === 0) return [];
  const parts = states.map(
    () => `(SELECT ${TRIAL_COLUMNS} FROM ${T} t WHERE t.study_id = ? AND t.state = ? ORDER BY t.number DESC LIMIT ?)`,
  );
  const rows = await db.query(
    parts.join(' UNION ALL '),
    states.flatMap((s) => [studyId, s, limit]),
  );
  return rows.map(trialRow);
}

/** Trials by state, and how many running ones still heartbeat within `graceMs`. */
export async function trialCounts(
  db: Queryable,
  studyId: number,
  graceMs: number,
): Promise<Record<TrialStateName, number> & { live: number }> {
  const rows = await db.query<{ state: TrialStateName; n: number; live: number }>(
    `SELECT state, COUNT(*) AS n, SUM(state = 'running' AND heartbeat_at >= NOW(3) - INTERVAL ? MICROSECOND) AS live
     FROM ${T} WHERE study_id = ? GROUP BY state`,
    [Math.round(graceMs * 1000), studyId],
  );
  const counts = { waiting: 0, running: 0, completed: 0, pruned: 0, failed: 0, live: 0 };
  for (const r of rows) {
    counts[r.state] = Number(r.n);
    counts.live += Number(r.live ?? 0);
  }
  return counts;
}

/** Every trial of a study, by number, with its run's test accuracy (the leaderboard; the dashboard). */
export async function listTrials(db: Queryable, studyId: number): Promise<ListedTrial[]> {
  const rows = await db.query(
    `SELECT ${TRIAL_COLUMNS}, t.started_at, t.finished_at,
       TIMESTAMPDIFF(MICROSECOND, t.heartbeat_at, NOW(3)) / 1e6 AS heartbeat_age, r.test_accuracy
     FROM ${T} t LEFT JOIN ${escapeId(RUNS_TABLE)} r ON r.id = t.run_id
     WHERE t.study_id = ? ORDER BY t.number`,
    [studyId],
  );
  return rows.map((r) => ({
    ...trialRow(r),
    startedAt: r.started_at ? (r.started_at as Date).toISOString() : null,
    finishedAt: r.finished_at ? (r.finished_at as Date).toISOString() : null,
    heartbeatAge: r.heartbeat_age === null ? null : Number(r.heartbeat_age),
    testAccuracy: r.test_accuracy === null ? null : Number(r.test_accuracy),
  }));
}

/** The latest study of an experiment name with its trials, or null: the dashboard's live view. */
export async function latestStudyNamed(
  db: Queryable,
  name: string,
): Promise<(Omit<StudyRow, 'spec'> & { trialRows: ListedTrial[] }) | null> {
  const [study] = await studiesNamed(db, name);
  if (!study) return null;
  const { spec: _spec, ...rest } = study;
  return { ...rest, trialRows: await listTrials(db, study.id) };
}
