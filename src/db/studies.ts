import type { Db, Queryable } from './db';
import { escapeId } from './identifiers';
import { RUNS_TABLE, STUDIES_TABLE, TRIALS_TABLE } from './schema';
import { retryOnLockConflict } from './transient';

/**
 * The statements of the study engine (src/study/) that create and read studies and their trials;
 * a worker's claims and writes of its trial are trial-claims.ts's. Every time is the server's
 * (NOW(3)), never a worker's clock.
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

/** The columns trialRow reads, for the statements of this module and of trial-claims.ts. */
export const TRIAL_COLUMNS =
  't.id, t.number, t.state, t.params, t.worker, t.attempts, t.value, t.steps, t.run_id, t.error';

export function trialRow(r: Record<string, unknown>): TrialRow {
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

/** A trial finished elsewhere, recorded as it ended (Optuna's add_trials). */
export interface FinishedTrial {
  state: 'completed' | 'pruned';
  /** JSON, as a sampler's draw. */
  params: string;
  value: number;
  /** JSON array of [step, value]. */
  steps: string;
}

/**
 * Finished trials recorded at once, numbered after the study's last: each batch one transaction
 * that takes the next numbers under the study row's lock, as a claim of a new trial does. The
 * study bench fills a study to the size it times trials at with it.
 */
export async function addFinishedTrials(db: Db, studyId: number, trials: FinishedTrial[]): Promise<void> {
  for (let from = 0; from < trials.length; from += GRID_BATCH) {
    const batch = trials.slice(from, from + GRID_BATCH);
    await retryOnLockConflict(() =>
      db.session(async (conn) => {
        await conn.run('START TRANSACTION');
        try {
          const [s] = await conn.query<{ next_number: number }>(
            `SELECT next_number FROM ${S} WHERE id = ? FOR UPDATE`,
            [studyId],
          );
          const first = Number(s.next_number);
          await conn.run(
            `INSERT INTO ${T} (study_id, number, state, params, attempts, started_at, finished_at, value, steps)
             VALUES ${batch.map(() => '(?, ?, ?, ?, 1, NOW(3), NOW(3), ?, ?)').join(', ')}`,
            batch.flatMap((t, i) => [studyId, first + i, t.state, t.params, t.value, t.steps]),
          );
          await conn.run(`UPDATE ${S} SET next_number = ? WHERE id = ?`, [first + batch.length, studyId]);
          await conn.run('COMMIT');
        } catch (e) {
          await conn.run('ROLLBACK').catch(() => undefined);
          throw e;
        }
      }),
    );
  }
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
