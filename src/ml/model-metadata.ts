import { SHARP_FIT, type ResizeMode } from '../image-shape';
import { PIXEL_SCALE } from '../samples/pixel-matrix';
import { MLDB_VERSION } from '../version';
import type { ModelMetadata } from './artifacts';
import { recordedStart } from './start-from';
import { tf } from './tf';
import type { TrainResult } from './train';

/**
 * What a saved model says about itself (model.json's mldb part): its labels and input, how its
 * pixels were prepared, the data and recipe it was trained on, and how it scored.
 */
export function modelMetadata(
  opts: { table: string; database?: string },
  model: string,
  result: TrainResult,
  // What the run's report adds (training-run.ts' TrainReport, narrowed so the two files stay apart).
  report: {
    split: { train: number; validation: number; test: number };
    test?: { loss: number; accuracy: number } | null;
  },
  runId: number | null,
  resize: ResizeMode,
): ModelMetadata {
  // The saved weights' epoch: the best one with --restore-best, else the last.
  const last = result.epochs.find((e) => e.epoch === result.restoredEpoch) ?? result.epochs[result.epochs.length - 1];
  return {
    format: 'mldb-model',
    formatVersion: 1,
    labels: result.labels,
    inputShape: result.inputShape,
    preprocessing: { resize: SHARP_FIT[resize], channels: result.inputShape[2], scale: PIXEL_SCALE },
    dataset: {
      table: opts.table,
      database: opts.database ?? '',
      fingerprint: result.fingerprint,
      rowsUntil: result.rowsUntil,
      tableVersion: result.tableVersion,
    },
    architecture: model,
    hyperparameters: { ...result.hyperparameters, workers: result.workers, ...recordedStart(result.start) },
    split: { train: report.split.train, validation: report.split.validation, test: report.split.test },
    epochs: result.epochs,
    ...(result.restoredEpoch !== null && { restoredEpoch: result.restoredEpoch }),
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
    ...(runId !== null && { runId }),
  };
}
