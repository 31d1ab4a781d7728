import { escapeId } from './identifiers';
import type { Db } from './db';
import { RUN_EPOCHS_TABLE, RUNS_TABLE } from './schema';
import { InvalidDataError } from '../errors';
import type { RunStatus } from './enums';
import type { EpochRow, RunStart, TestDetails } from './run-types';
import { assignments } from './sql-assignments';

/** A run's life in the runs table: created running, its data and epochs added, finished once. */

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
    tableVersion?: number | null;
    split?: { train: number; validation: number; test?: number };
  },
): Promise<void> {
  const { sql, params } = assignments(
    {
      backend: d.backend,
      fingerprint_rows: d.fingerprint?.rows,
      fingerprint_sha256: d.fingerprint?.sha256,
      rows_until: d.rowsUntil,
      table_version: d.tableVersion ?? undefined,
      split_train: d.split?.train,
      split_validation: d.split?.validation,
      split_test: d.split?.test,
    },
    ', ',
  );
  if (sql) await db.run(`UPDATE ${escapeId(RUNS_TABLE)} SET ${sql} WHERE id = ?`, [...params, id]);
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
