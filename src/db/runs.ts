import os from 'node:os';
import { escapeId } from './identifiers';
import type { Db } from './db';
import { isAlive } from '../process-alive';
import { RUN_EPOCHS_TABLE, RUNS_TABLE } from './schema';
import { InvalidDataError, UsageError, NotFoundError } from '../errors';

import { RUN_STATUSES, type RunStatus } from './enums';

export { RUN_STATUSES, type RunStatus } from './enums';

export interface RunStart {
  name: string | null;
  experiment: string | null;
  planKey: string | null;
  dataset: string;
  architecture: string;
  hyperparameters: Record<string, unknown> & { seed: number };
  mldbVersion: string;
  tfjsVersion: string;
  host: string;
  pid: number;
}

export interface EpochRow {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  seconds: number;
  samplesPerSecond: number;
  /** The learning rate the epoch trained with (reduce-on-plateau lowers it); null in runs before it was kept. */
  learningRate: number | null;
}

export interface TestDetails {
  count: number;
  labels: string[];
  classes: Array<{ label: string; support: number; precision: number; recall: number; f1: number }>;
  macro: { precision: number; recall: number; f1: number };
  confusion: number[][];
  mistakes: Array<{ id: number; label: string; predicted: string; confidence: number }>;
}

export interface RunRecord {
  id: number;
  name: string | null;
  experiment: string | null;
  dataset: string;
  architecture: string;
  status: RunStatus;
  hyperparameters: Record<string, unknown>;
  seed: number;
  backend: string | null;
  versions: { mldb: string; tfjs: string };
  host: string;
  fingerprint: { rows: number; sha256: string } | null;
  /** The largest row id the run read: its rows are those with id ≤ this (null before migration 5). */
  rowsUntil: number | null;
  split: { train: number; validation: number; test: number } | null;
  epochsDone: number;
  final: { loss: number; accuracy: number; valLoss: number | null; valAccuracy: number | null } | null;
  test: { loss: number; accuracy: number } | null;
  modelDir: string | null;
  error: string | null;
  startedAt: string;
  endedAt: string | null;
  seconds: number | null;
}

export interface RunDetails extends RunRecord {
  epochs: EpochRow[];
  testDetails: TestDetails | null;
}

/** Finite numbers only: MySQL DOUBLE has no NaN or Infinity. */
const num = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? null : x);

export async function createRun(db: Db, r: RunStart): Promise<number> {
  const { insertId } = await db.run(
    `INSERT INTO ${escapeId(RUNS_TABLE)} (name, experiment, plan_key, dataset, architecture, status,
       hyperparameters, seed, mldb_version, tfjs_version, host, pid)
     VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)`,
    [
      r.name,
      r.experiment,
      r.planKey,
      r.dataset,
      r.architecture,
      JSON.stringify(r.hyperparameters),
      r.hyperparameters.seed,
      r.mldbVersion,
      r.tfjsVersion,
      r.host,
      r.pid,
    ],
  );
  return insertId;
}

export async function setRunData(
  db: Db,
  id: number,
  d: {
    backend?: string;
    fingerprint?: { rows: number; sha256: string };
    rowsUntil?: number;
    split?: { train: number; validation: number; test?: number };
  },
): Promise<void> {
  const { sql, params } = assignments(
    {
      backend: d.backend,
      fingerprint_rows: d.fingerprint?.rows,
      fingerprint_sha256: d.fingerprint?.sha256,
      rows_until: d.rowsUntil,
      split_train: d.split?.train,
      split_validation: d.split?.validation,
      split_test: d.split?.test,
    },
    ', ',
  );
  if (sql) await db.run(`UPDATE ${escapeId(RUNS_TABLE)} SET ${sql} WHERE id = ?`, [...params, id]);
}

/** `a = ? <joiner> b = ?` over the columns whose value is given (undefined ones are left out). */
function assignments(columns: Record<string, unknown>, joiner: string): { sql: string; params: unknown[] } {
  const given = Object.entries(columns).filter(([, v]) => v !== undefined);
  return { sql: given.map(([c]) => `${c} = ?`).join(joiner), params: given.map(([, v]) => v) };
}

/** Epoch rows in one multi-row INSERT (idempotent: a re-sent epoch overwrites itself). */
export async function appendEpochs(db: Db, id: number, epochs: EpochRow[]): Promise<void> {
  if (epochs.length === 0) return;
  // A NaN or infinite loss is no measurement: stored as 0 it would read as a perfect epoch.
  const diverged = epochs.find((e) => !Number.isFinite(e.loss) || !Number.isFinite(e.accuracy));
  if (diverged) {
    throw new InvalidDataError(
      `epoch ${diverged.epoch} of run ${id} has a loss of ${diverged.loss}: it is not recorded`,
      'the training diverged; train again with a lower learning rate',
      { reason: 'diverged', subject: String(id) },
    );
  }
  const values = epochs.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
  const params = epochs.flatMap((e) => [
    id,
    e.epoch,
    e.loss,
    e.accuracy,
    num(e.valLoss),
    num(e.valAccuracy),
    e.seconds,
    e.samplesPerSecond,
    num(e.learningRate),
  ]);
  await db.run(
    `INSERT INTO ${escapeId(RUN_EPOCHS_TABLE)}
       (run_id, epoch, loss, accuracy, val_loss, val_accuracy, seconds, samples_per_second, learning_rate)
     VALUES ${values}
     ON DUPLICATE KEY UPDATE loss = VALUES(loss), accuracy = VALUES(accuracy), val_loss = VALUES(val_loss),
       val_accuracy = VALUES(val_accuracy), seconds = VALUES(seconds), samples_per_second = VALUES(samples_per_second),
       learning_rate = VALUES(learning_rate)`,
    params,
  );
  const last = epochs[epochs.length - 1];
  await db.run(
    `UPDATE ${escapeId(RUNS_TABLE)} SET epochs_done = GREATEST(epochs_done, ?), final_loss = ?,
       final_accuracy = ?, final_val_loss = ?, final_val_accuracy = ? WHERE id = ?`,
    [last.epoch, num(last.loss), num(last.accuracy), num(last.valLoss), num(last.valAccuracy), id],
  );
}

export async function finishRun(
  db: Db,
  id: number,
  f: {
    status: Exclude<RunStatus, 'running'>;
    test?: { loss: number; accuracy: number; details: TestDetails } | null;
    modelDir?: string | null;
    error?: string | null;
  },
): Promise<void> {
  await db.run(
    `UPDATE ${escapeId(RUNS_TABLE)} SET status = ?, test_loss = ?, test_accuracy = ?, test_details = ?, ` +
      `model_dir = ?, error = ?, ended_at = CURRENT_TIMESTAMP(3) WHERE id = ?`,
    [
      f.status,
      num(f.test?.loss),
      num(f.test?.accuracy),
      f.test ? JSON.stringify(f.test.details) : null,
      f.modelDir ?? null,
      f.error ?? null,
      id,
    ],
  );
}

interface RunRow {
  id: number;
  name: string | null;
  experiment: string | null;
  dataset: string;
  architecture: string;
  status: RunStatus;
  hyperparameters: string;
  seed: number;
  backend: string | null;
  mldb_version: string;
  tfjs_version: string;
  host: string;
  fingerprint_rows: number | null;
  fingerprint_sha256: string | null;
  rows_until: number | null;
  split_train: number | null;
  split_validation: number | null;
  split_test: number | null;
  epochs_done: number;
  final_loss: number | null;
  final_accuracy: number | null;
  final_val_loss: number | null;
  final_val_accuracy: number | null;
  test_loss: number | null;
  test_accuracy: number | null;
  test_details?: string | null;
  model_dir: string | null;
  error: string | null;
  started_at: Date;
  ended_at: Date | null;
}

function toRecord(r: RunRow): RunRecord {
  return {
    id: Number(r.id),
    name: r.name,
    experiment: r.experiment,
    dataset: r.dataset,
    architecture: r.architecture,
    status: r.status,
    hyperparameters: JSON.parse(r.hyperparameters),
    seed: Number(r.seed),
    backend: r.backend,
    versions: { mldb: r.mldb_version, tfjs: r.tfjs_version },
    host: r.host,
    fingerprint: r.fingerprint_sha256 ? { rows: Number(r.fingerprint_rows), sha256: r.fingerprint_sha256 } : null,
    rowsUntil: r.rows_until === null || r.rows_until === undefined ? null : Number(r.rows_until),
    split:
      r.split_train !== null
        ? { train: Number(r.split_train), validation: Number(r.split_validation), test: Number(r.split_test ?? 0) }
        : null,
    epochsDone: Number(r.epochs_done),
    final:
      r.final_loss !== null
        ? {
            loss: r.final_loss,
            accuracy: r.final_accuracy!,
            valLoss: r.final_val_loss,
            valAccuracy: r.final_val_accuracy,
          }
        : null,
    test: r.test_accuracy !== null ? { loss: r.test_loss!, accuracy: r.test_accuracy } : null,
    modelDir: r.model_dir,
    error: r.error,
    startedAt: r.started_at.toISOString(),
    endedAt: r.ended_at ? r.ended_at.toISOString() : null,
    seconds: r.ended_at ? (r.ended_at.getTime() - r.started_at.getTime()) / 1000 : null,
  };
}

export interface RunFilter {
  dataset?: string;
  architecture?: string;
  status?: string;
  experiment?: string;
  limit?: number;
  /** Rows to skip (a page of the dashboard's runs table). */
  offset?: number;
  /** A column of RUN_SORTS; newest first when absent. */
  sort?: RunSort;
  order?: 'asc' | 'desc';
}

/** What runs can be sorted by, and the column (or expression) each is. */
export const RUN_SORTS = {
  id: 'id',
  started: 'started_at',
  seconds: 'TIMESTAMPDIFF(MICROSECOND, started_at, ended_at)',
  epochs: 'epochs_done',
  loss: 'final_loss',
  accuracy: 'final_accuracy',
  val_loss: 'final_val_loss',
  val_accuracy: 'final_val_accuracy',
  test_loss: 'test_loss',
  test_accuracy: 'test_accuracy',
  architecture: 'architecture',
  dataset: 'dataset',
  status: 'status',
} as const;
export type RunSort = keyof typeof RUN_SORTS;

export function validateStatus(s: string | undefined): RunStatus | undefined {
  if (s === undefined) return undefined;
  if (!(RUN_STATUSES as readonly string[]).includes(s))
    throw new UsageError(`unknown status "${s}"`, `use one of ${RUN_STATUSES.join(', ')}`, { field: 'status' });
  return s as RunStatus;
}

const SUMMARY_COLUMNS =
  'id, name, experiment, dataset, architecture, status, hyperparameters, seed, backend, mldb_version, ' +
  'tfjs_version, host, fingerprint_rows, fingerprint_sha256, rows_until, split_train, split_validation, split_test, ' +
  'epochs_done, final_loss, final_accuracy, final_val_loss, final_val_accuracy, test_loss, test_accuracy, ' +
  'model_dir, error, started_at, ended_at';

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
async function shownAsSettled<T extends { id: number; status: RunStatus; error: string | null }>(
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

function runWhere(f: RunFilter): { sql: string; params: unknown[] } {
  const { sql, params } = assignments(
    {
      dataset: f.dataset || undefined,
      architecture: f.architecture ? f.architecture.toLowerCase() : undefined,
      status: f.status ? validateStatus(f.status) : undefined,
      experiment: f.experiment || undefined,
    },
    ' AND ',
  );
  return { sql: sql ? `WHERE ${sql}` : '', params };
}

/** Runs, newest first unless sorted otherwise (runs without the value last, either way). */
export async function listRuns(db: Db, f: RunFilter = {}, reading: RunReading = {}): Promise<RunRecord[]> {
  const write = reading.write ?? true;
  if (write) await settleOrphanRuns(db);
  const { sql, params } = runWhere(f);
  const column = RUN_SORTS[f.sort ?? 'id'] ?? RUN_SORTS.id;
  const order = f.order === 'asc' ? 'ASC' : 'DESC';
  const rows = await db.query<RunRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM ${escapeId(RUNS_TABLE)} ${sql} ` +
      `ORDER BY ${column} IS NULL, ${column} ${order}, id DESC LIMIT ? OFFSET ?`,
    [...params, f.limit ?? 20, f.offset ?? 0],
  );
  const runs = rows.map(toRecord);
  return write ? runs : shownAsSettled(db, runs);
}

export async function countRuns(db: Db, f: RunFilter = {}): Promise<number> {
  const { sql, params } = runWhere(f);
  const [row] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${escapeId(RUNS_TABLE)} ${sql}`, params);
  return Number(row.n);
}

/** What a filter can choose from: the datasets, architectures and experiments runs have. */
export async function runFacets(
  db: Db,
): Promise<{ datasets: string[]; architectures: string[]; experiments: string[] }> {
  const distinct = async (column: string) =>
    (
      await db.query<{ v: string }>(
        `SELECT DISTINCT ${column} AS v FROM ${escapeId(RUNS_TABLE)} WHERE ${column} IS NOT NULL ORDER BY v`,
      )
    ).map((r) => r.v);
  return {
    datasets: await distinct('dataset'),
    architectures: await distinct('architecture'),
    experiments: await distinct('experiment'),
  };
}

export interface ExperimentSummary {
  name: string;
  runs: number;
  completed: number;
  running: number;
  bestTestAccuracy: number | null;
  bestValAccuracy: number | null;
  startedAt: string;
  lastStartedAt: string;
}

export async function countExperiments(db: Db): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `SELECT COUNT(DISTINCT experiment) AS n FROM ${escapeId(RUNS_TABLE)} FORCE INDEX (ix_experiment)`,
  );
  return Number(row.n);
}

/** Experiments (runs grouped by their experiment), the latest first. */
export async function listExperiments(db: Db, limit = 100, offset = 0): Promise<ExperimentSummary[]> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT experiment, COUNT(*) AS runs, SUM(status = 'completed') AS completed, SUM(status = 'running') AS running,
       MAX(test_accuracy) AS best_test, MAX(final_val_accuracy) AS best_val, MIN(started_at) AS first_at,
       MAX(started_at) AS last_at
     FROM ${escapeId(RUNS_TABLE)} FORCE INDEX (ix_experiment) WHERE experiment IS NOT NULL
     GROUP BY experiment ORDER BY MAX(id) DESC LIMIT ? OFFSET ?`,
    [limit, offset],
  );
  return rows.map((r) => ({
    name: r.experiment as string,
    runs: Number(r.runs),
    completed: Number(r.completed),
    running: Number(r.running),
    bestTestAccuracy: r.best_test === null ? null : Number(r.best_test),
    bestValAccuracy: r.best_val === null ? null : Number(r.best_val),
    startedAt: (r.first_at as Date).toISOString(),
    lastStartedAt: (r.last_at as Date).toISOString(),
  }));
}

export async function getRun(db: Db, id: number, reading: RunReading = {}): Promise<RunDetails> {
  const write = reading.write ?? true;
  if (write) await settleOrphanRuns(db);
  const rows = await db.query<RunRow>(
    `SELECT ${SUMMARY_COLUMNS}, test_details FROM ${escapeId(RUNS_TABLE)} WHERE id = ?`,
    [id],
  );
  if (rows.length === 0)
    throw new NotFoundError(`no run ${id}`, undefined, { reason: 'run-missing', subject: String(id) });
  const epochs = await db.query<{
    epoch: number;
    loss: number;
    accuracy: number;
    val_loss: number | null;
    val_accuracy: number | null;
    seconds: number;
    samples_per_second: number;
    learning_rate: number | null;
  }>(
    `SELECT epoch, loss, accuracy, val_loss, val_accuracy, seconds, samples_per_second, learning_rate FROM ` +
      `${escapeId(RUN_EPOCHS_TABLE)} WHERE run_id = ? ORDER BY epoch`,
    [id],
  );
  const [run] = write ? [toRecord(rows[0])] : await shownAsSettled(db, [toRecord(rows[0])]);
  return {
    ...run,
    epochs: epochs.map((e) => ({
      epoch: Number(e.epoch),
      loss: e.loss,
      accuracy: e.accuracy,
      valLoss: e.val_loss,
      valAccuracy: e.val_accuracy,
      seconds: e.seconds,
      samplesPerSecond: e.samples_per_second,
      learningRate: e.learning_rate,
    })),
    testDetails: rows[0].test_details ? JSON.parse(rows[0].test_details) : null,
  };
}

/** The newest completed run of a plan combination, if any: what makes experiments resumable. */
export async function completedRunForPlanKey(db: Db, planKey: string): Promise<RunRecord | undefined> {
  const rows = await db.query<RunRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM ${escapeId(RUNS_TABLE)} WHERE plan_key = ? AND status = 'completed' ORDER ` +
      `BY id DESC LIMIT 1`,
    [planKey],
  );
  return rows[0] ? toRecord(rows[0]) : undefined;
}
