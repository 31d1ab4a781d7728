import { escapeId } from './identifiers';
import type { Db } from './db';
import { RUN_EPOCHS_TABLE, RUNS_TABLE } from './schema';
import { UsageError, NotFoundError } from '../errors';
import { RUN_STATUSES, type RunStatus } from './enums';
import type { RunDetails, RunRecord } from './run-types';
import { SUMMARY_COLUMNS, toRecord, type RunRow } from './run-rows';
import { settleOrphanRuns, shownAsSettled, type RunReading } from './run-orphans';
import { assignments } from './sql-assignments';

/** Reading runs: lists, counts, facets, one run with its epochs, a plan combination's run. */

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
