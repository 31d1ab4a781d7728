import path from 'node:path';
import type { Db } from '../db/db';
import { countRows } from '../db/table-stats';
import { PIXEL_SCALE } from '../samples/pixel-matrix';
import { MLDB_VERSION } from '../version';
import { modelNameFor, storeModel, validateModelName, type StoredModel } from '../db/models';
import { checkSaveTarget, serializeModel, writeModelFolder, type ModelMetadata } from './artifacts';
import { evaluateClassifier, type EvaluationReport } from './evaluate';
import { RunRecorder, type RecordLabels } from './run-recorder';
import { UsageError } from '../errors';
import {
  trainModel,
  type EpochMetrics,
  type Hyperparameters,
  type RunChoices,
  type StopReason,
  type TrainOptions,
  type TrainResult,
} from './train';
import { tf } from './tf';
import { onnxModelEngine, type ModelEngine } from './inference-engine';
import { loadOnnxRuntime } from './onnxruntime';

export interface TrainRunOptions extends TrainOptions {
  /** Where to save the model; default models/<table>-<model>-<time>. */
  save?: string;
  /** Database name, recorded in the metadata. */
  database?: string;
  onTestStart?: (rows: number) => void;
  /** The database is away as the run ends: its record waits up to `seconds` for it. */
  onRecordWait?: (runId: number, seconds: number) => void;
  /** Record the run in mldb_runs (default), with an optional name; false records nothing. */
  record?: RecordLabels | false;
  /**
   * Keep the model in mldb_models too (default), so that `run:ID` or its name serves it from any
   * machine; `name` defaults to the saved folder's name. false stores nothing.
   */
  store?: { name?: string } | false;
}

export interface TrainReport {
  /** The run's id in mldb_runs; null when not recorded. */
  runId: number | null;
  name: string | null;
  table: string;
  model: string;
  backend: string;
  stopReason: StopReason;
  /** Where the model was saved; null when training was interrupted (nothing is saved then). */
  savedTo: string | null;
  /** The model as kept in mldb_models; null when not stored. */
  storedModel: Pick<StoredModel, 'id' | 'name' | 'version'> | null;
  labels: string[];
  inputShape: [number, number, number];
  split: { train: number; validation: number; test: number; validationFrom: 'held-out' | 'split' };
  streaming: boolean;
  /** Threads each batch was split over. */
  workers: number;
  fingerprint: { rows: number; sha256: string };
  /** The run's row set: rows with id ≤ this (`mldb train --rows-until run:ID` reproduces it). */
  rowsUntil: number;
  /** The table version read (`TABLE@N`; `mldb train --like run:ID` reads it again); null: sharded. */
  tableVersion: number | null;
  hyperparameters: Hyperparameters;
  epochs: EpochMetrics[];
  /** --restore-best: the epoch whose weights were saved (best val_loss), else null (the last). */
  restoredEpoch: number | null;
  /** Metrics on the test split, when it has rows and training was not interrupted. */
  test: EvaluationReport | null;
}

/** mldb_runs.name is VARCHAR(191). */
const MAX_RUN_NAME = 191;

async function testEngine(model: tf.LayersModel): Promise<ModelEngine> {
  const loaded = loadOnnxRuntime();
  if (!('ort' in loaded)) throw new Error(loaded.unavailable); // it trained on it a moment ago
  return onnxModelEngine(loaded.ort, model);
}

export function defaultModelDir(table: string, model: string, when = new Date()): string {
  return path.join(
    'models',
    `${table}-${model}-${when
      .toISOString()
      .replace(/[:.]/g, '-')
      .replace(/-\d{3}Z$/, 'Z')}`,
  );
}

/**
 * One training run, start to finish: train, evaluate on the test split, save the model with its
 * metadata. An interrupted run returns what it did and saves nothing.
 */
export async function trainAndSave(db: Db, opts: TrainRunOptions): Promise<TrainReport> {
  const model = opts.model.toLowerCase();
  // What only this function uses is checked here, before anything runs; the training options,
  // the architecture and the table are checked once, by trainModel, before its onData (which is
  // where the run is recorded): a bad flag never leaves a run row behind.
  if (opts.save) checkSaveTarget(opts.save);
  if (opts.store && opts.store.name !== undefined) validateModelName(opts.store.name);
  const labels = opts.record === false ? undefined : (opts.record ?? {});
  if (labels?.name && [...labels.name].length > MAX_RUN_NAME)
    throw new UsageError(`--name is longer than ${MAX_RUN_NAME} characters`, 'use a shorter name', { field: 'name' });
  const run: { recorder: RunRecorder | null } = { recorder: null };
  const startRecording = async (choices: RunChoices) => {
    if (labels === undefined) return null;
    return RunRecorder.start(db, {
      ...labels,
      onWait: opts.onRecordWait,
      dataset: opts.table,
      architecture: model,
      hyperparameters: {
        ...choices.hyperparameters,
        backend: opts.backend ?? 'auto',
        workers: choices.workers,
        memoryBudget: opts.memoryBudget ?? null,
      },
    });
  };
  let result: TrainResult;
  const recorder = () => run.recorder;
  try {
    result = await trainModel(db, {
      ...opts,
      onData: async (d, choices) => {
        run.recorder = await startRecording(choices);
        run.recorder?.data({
          backend: choices.backend,
          fingerprint: d.fingerprint,
          rowsUntil: d.rowsUntil,
          tableVersion: d.tableVersion,
          split: { train: d.train, validation: d.validation },
        });
        await opts.onData?.(d, choices);
      },
      onBackend: opts.onBackend,
      onEpoch: (e) => {
        recorder()?.epoch(e);
        opts.onEpoch?.(e);
      },
    });
  } catch (err) {
    await recorder()
      ?.finish('failed', { error: err })
      .catch(() => undefined);
    throw err;
  }
  try {
    const rowSet = { maxId: result.rowsUntil, asOf: opts.tableVersion };
    const testRows = await countRows(db, opts.table, { split: 'test', ...rowSet });
    recorder()?.data({ split: { ...result.split, test: testRows } });
    // The result as it is, but for the network itself (saved below), with what this run adds.
    const { model: network, preciseBn, ...outcome } = result;
    const report: TrainReport = {
      ...outcome,
      runId: recorder()?.id ?? null,
      name: labels ? (labels.name ?? null) : null,
      table: opts.table,
      model,
      savedTo: null,
      storedModel: null,
      split: { ...result.split, test: testRows },
      test: null,
    };
    if (result.stopReason === 'interrupted' || result.epochs.length === 0) {
      await recorder()?.finish('interrupted');
      return report;
    }
    if (testRows > 0) {
      opts.onTestStart?.(testRows);
      // The test pass runs where training ran: onnxruntime's session over the exported model, or tfjs.
      const engine = result.backend === 'onnxruntime' ? await testEngine(result.model) : undefined;
      try {
        report.test = await evaluateClassifier(
          db,
          { name: model, model: result.model, labels: result.labels, inputShape: result.inputShape, engine },
          opts.table,
          'test',
          { memoryBudget: opts.memoryBudget, readParallelism: opts.readParallelism },
          rowSet,
        );
      } finally {
        await engine?.dispose();
      }
    }
    // The saved weights' epoch: the best one with --restore-best, else the last.
    const last = result.epochs.find((e) => e.epoch === result.restoredEpoch) ?? result.epochs[result.epochs.length - 1];
    const metadata: ModelMetadata = {
      format: 'mldb-model',
      formatVersion: 1,
      labels: result.labels,
      inputShape: result.inputShape,
      preprocessing: { resize: 'fill', channels: result.inputShape[2], scale: PIXEL_SCALE },
      dataset: {
        table: opts.table,
        database: opts.database ?? '',
        fingerprint: result.fingerprint,
        rowsUntil: result.rowsUntil,
        tableVersion: result.tableVersion,
      },
      architecture: model,
      hyperparameters: { ...result.hyperparameters, workers: result.workers },
      split: { train: report.split.train, validation: report.split.validation, test: testRows },
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
      ...(recorder() && { runId: recorder()!.id }),
    };
    const files = await serializeModel(result.model, metadata);
    report.savedTo = await writeModelFolder(opts.save ?? defaultModelDir(opts.table, model), files);
    if (opts.store !== false) {
      const stored = await storeModel(
        db,
        {
          name: opts.store?.name ?? modelNameFor(report.savedTo),
          runId: recorder()?.id ?? null,
          architecture: model,
          dataset: opts.table,
          labels: result.labels,
          inputShape: result.inputShape,
          testAccuracy: report.test?.accuracy ?? null,
        },
        files,
      );
      report.storedModel = { id: stored.id, name: stored.name, version: stored.version };
    }
    const t = report.test;
    await recorder()?.finish('completed', {
      test: t && {
        loss: t.loss,
        accuracy: t.accuracy,
        details: {
          count: t.count,
          labels: t.labels,
          classes: t.classes,
          macro: t.macro,
          confusion: t.confusion,
          mistakes: t.mistakes,
        },
      },
      modelDir: report.savedTo,
    });
    return report;
  } catch (err) {
    await recorder()
      ?.finish('failed', { error: err })
      .catch(() => undefined);
    throw err;
  } finally {
    result.model.dispose();
  }
}
