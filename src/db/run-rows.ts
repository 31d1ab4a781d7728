import type { RunStatus } from './enums';
import type { RunRecord } from './run-types';

/** A runs-table row as the server returns it, and the record every reader gives out. */

export interface RunRow {
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
  table_version?: number | null;
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

export function toRecord(r: RunRow): RunRecord {
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
    tableVersion: r.table_version === null || r.table_version === undefined ? null : Number(r.table_version),
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

export const SUMMARY_COLUMNS =
  'id, name, experiment, dataset, architecture, status, hyperparameters, seed, backend, mldb_version, ' +
  'tfjs_version, host, fingerprint_rows, fingerprint_sha256, rows_until, table_version, split_train, ' +
  'split_validation, split_test, ' +
  'epochs_done, final_loss, final_accuracy, final_val_loss, final_val_accuracy, test_loss, test_accuracy, ' +
  'model_dir, error, started_at, ended_at';
