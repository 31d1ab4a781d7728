import path from 'node:path';
import type { Db } from '../db/pool';
import { escapeId } from '../db/identifiers';
import { MLDB_VERSION } from '../version';
import { saveModel, type ModelMetadata } from './artifacts';
import { evaluateClassifier, type EvaluationReport } from './evaluate';
import { trainModel, type EpochMetrics, type Hyperparameters, type StopReason, type TrainOptions } from './train';
import { tf } from './tf';

export interface TrainRunOptions extends TrainOptions {
  /** Where to save the model; default models/<table>-<model>-<time>. */
  save?: string;
  /** Database name, recorded in the metadata. */
  database?: string;
  onTestStart?: (rows: number) => void;
}

export interface TrainReport {
  table: string;
  model: string;
  backend: string;
  stopReason: StopReason;
  /** Where the model was saved; null when training was interrupted (nothing is saved then). */
  savedTo: string | null;
  labels: string[];
  inputShape: [number, number, number];
  split: { train: number; validation: number; test: number; validationFrom: 'held-out' | 'split' };
  streaming: boolean;
  fingerprint: { rows: number; sha256: string };
  hyperparameters: Hyperparameters;
  epochs: EpochMetrics[];
  /** Metrics on the test split, when it has rows and training was not interrupted. */
  test: EvaluationReport | null;
}

export function defaultModelDir(table: string, model: string, when = new Date()): string {
  return path.join('models', `${table}-${model}-${when.toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z')}`);
}

/**
 * One training run, start to finish: train, evaluate on the test split, save the model with its
 * metadata. An interrupted run returns what it did and saves nothing.
 */
export async function trainAndSave(db: Db, opts: TrainRunOptions): Promise<TrainReport> {
  const model = opts.model.toLowerCase();
  const result = await trainModel(db, opts);
  try {
    const [{ n }] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${escapeId(opts.table)} WHERE split = 'test'`);
    const testRows = Number(n);
    const report: TrainReport = {
      table: opts.table,
      model,
      backend: result.backend,
      stopReason: result.stopReason,
      savedTo: null,
      labels: result.labels,
      inputShape: result.inputShape,
      split: { ...result.split, test: testRows },
      streaming: result.streaming,
      fingerprint: result.fingerprint,
      hyperparameters: result.hyperparameters,
      epochs: result.epochs,
      test: null,
    };
    if (result.stopReason === 'interrupted' || result.epochs.length === 0) return report;
    if (testRows > 0) {
      opts.onTestStart?.(testRows);
      report.test = await evaluateClassifier(db, { name: model, model: result.model, labels: result.labels, inputShape: result.inputShape }, opts.table, 'test', opts.memoryBudget);
    }
    const last = result.epochs[result.epochs.length - 1];
    const metadata: ModelMetadata = {
      format: 'mldb-model',
      formatVersion: 1,
      labels: result.labels,
      inputShape: result.inputShape,
      preprocessing: { resize: 'fill', channels: result.inputShape[2], scale: 1 / 255 },
      dataset: { table: opts.table, database: opts.database ?? '', fingerprint: result.fingerprint },
      architecture: model,
      hyperparameters: { ...result.hyperparameters },
      split: { train: report.split.train, validation: report.split.validation, test: testRows },
      epochs: result.epochs,
      metrics: {
        loss: last.loss,
        accuracy: last.accuracy,
        valLoss: last.valLoss,
        valAccuracy: last.valAccuracy,
        testLoss: report.test?.loss ?? null,
        testAccuracy: report.test?.accuracy ?? null,
      },
      backend: result.backend,
      versions: { mldb: MLDB_VERSION, tfjs: tf.version.tfjs },
      createdAt: new Date().toISOString(),
    };
    report.savedTo = await saveModel(result.model, opts.save ?? defaultModelDir(opts.table, model), metadata);
    return report;
  } finally {
    result.model.optimizer?.dispose();
    result.model.dispose();
  }
}
