import path from 'node:path';
import type { Db } from '../db/db';
import { countRows } from '../db/table-stats';
import { getDataset } from '../db/registry';
import { modelNameFor, storeModel, validateModelName, type StoredModel } from '../db/models';
import { checkSaveTarget, serializeModel, writeModelFolder } from './artifacts';
import { modelMetadata } from './model-metadata';
import { evaluateClassifier, type EvaluationReport } from './evaluate';
import { RunRecorder, type RecordLabels } from './run-recorder';
import { UsageError } from '../errors';
import {
  fitModel,
  prepareTraining,
  watchingCallbacks,
  type EpochMetrics,
  type Hyperparameters,
  type PreparedTraining,
  type StopReason,
  type TrainOptions,
  type TrainResult,
} from './train';
import { tf } from './tf';
import { recordedStart, type StartSummary } from './start-from';
import { onnxModelEngine, type ModelEngine } from './inference-engine';
import { loadOnnxRuntime } from './onnxruntime';
import { rowSubsetOf } from './row-subset';

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
  /** Where the model was saved; null when training was interrupted or pruned (nothing is saved then). */
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
  /** The table version read (`TABLE@N`; `mldb train --like run:ID` reads it again). */
  tableVersion: number | null;
  hyperparameters: Hyperparameters;
  epochs: EpochMetrics[];
  /** --restore-best: the epoch whose weights were saved (best val_loss), else null (the last). */
  restoredEpoch: number | null;
  /** Metrics on the test split, when it has rows and training was neither interrupted nor pruned. */
  test: EvaluationReport | null;
  /** What the model started from (--init-from) and kept fixed (--freeze); null: from scratch. */
  start: StartSummary | null;
}

/** mldb_runs.name is VARCHAR(191). */
const MAX_RUN_NAME = 191;

/** onnxruntime's session over the exported model, where onnxruntime loads (either native engine's model). */
async function testEngine(model: tf.LayersModel): Promise<ModelEngine | undefined> {
  const loaded = loadOnnxRuntime();
  return 'ort' in loaded ? onnxModelEngine(loaded.ort, model) : undefined;
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

/** What the steps of one run share: the architecture's name, its record's labels and recorder. */
interface RunContext {
  model: string;
  /** The run's name and experiment; undefined when it is not recorded. */
  labels: RecordLabels | undefined;
  recorder: RunRecorder | null;
}

/**
 * One training run, start to finish: check the request and plan the rows, create the run's
 * record, train (the record and the caller's progress are callbacks of the loop), evaluate on the
 * test split, save the model with its metadata, finish the record. An interrupted or pruned run
 * returns what it did and saves nothing.
 */
export async function trainAndSave(db: Db, opts: TrainRunOptions): Promise<TrainReport> {
  const model = opts.model.toLowerCase();
  const labels = checkRunOptions(opts);
  // Every option, the architecture and the table are checked here, before the run is recorded:
  // a bad flag never leaves a run row behind.
  const prepared = await prepareTraining(db, opts);
  const recorder = labels ? await startRun(db, opts, { model, labels }, prepared) : null;
  try {
    await opts.onData?.(prepared.data.info, prepared.choices);
    opts.onBackend?.(prepared.backend.name, prepared.backend.reason, prepared.workers);
    const result = await fitModel(prepared, {
      callbacks: [...(recorder ? [recorder] : []), ...watchingCallbacks(opts), ...(opts.callbacks ?? [])],
      shouldStop: opts.shouldStop,
    });
    return await concludeRun(db, opts, { model, labels, recorder }, result);
  } catch (err) {
    await recorder?.finish('failed', { error: err }).catch(() => undefined);
    throw err;
  }
}

/** What only a recorded, saved run uses, checked before anything runs; the run's labels. */
function checkRunOptions(opts: TrainRunOptions): RecordLabels | undefined {
  if (opts.save) checkSaveTarget(opts.save);
  if (opts.store && opts.store.name !== undefined) validateModelName(opts.store.name);
  const labels = opts.record === false ? undefined : (opts.record ?? {});
  if (labels?.name && [...labels.name].length > MAX_RUN_NAME)
    throw new UsageError(`--name is longer than ${MAX_RUN_NAME} characters`, 'use a shorter name', { field: 'name' });
  return labels;
}

/** The run's row in mldb_runs, `running`, with what it was resolved to and the rows it reads. */
async function startRun(
  db: Db,
  opts: TrainRunOptions,
  run: { model: string; labels: RecordLabels },
  p: PreparedTraining,
): Promise<RunRecorder> {
  const recorder = await RunRecorder.start(db, {
    ...run.labels,
    onWait: opts.onRecordWait,
    dataset: opts.table,
    architecture: run.model,
    hyperparameters: {
      ...p.hyperparameters,
      backend: opts.backend ?? 'auto',
      workers: p.workers,
      memoryBudget: opts.memoryBudget ?? null,
      ...recordedStart(p.choices.start),
      // The rows trained on per label (what --class-weight balanced weighs by), kept with the run.
      classCounts: p.data.info.classCounts,
    },
  });
  const d = p.data.info;
  recorder.data({
    backend: p.backend.name,
    fingerprint: d.fingerprint,
    rowsUntil: d.rowsUntil,
    tableVersion: d.tableVersion,
    split: { train: d.train, validation: d.validation },
  });
  return recorder;
}

/** After training: the test pass, the saved and stored model, the record's end. */
async function concludeRun(db: Db, opts: TrainRunOptions, run: RunContext, result: TrainResult): Promise<TrainReport> {
  try {
    const subset = rowSubsetOf(result.hyperparameters);
    const testRows = await countRows(db, opts.table, { split: 'test', ...testRowSet(opts, result), ...subset });
    run.recorder?.data({ split: { ...result.split, test: testRows } });
    // The result as it is, but for the network itself (saved below), with what this run adds.
    const { model: network, preciseBn, pruneReason, ...outcome } = result;
    const report: TrainReport = {
      ...outcome,
      runId: run.recorder?.id ?? null,
      name: run.labels ? (run.labels.name ?? null) : null,
      table: opts.table,
      model: run.model,
      savedTo: null,
      storedModel: null,
      split: { ...result.split, test: testRows },
      test: null,
    };
    if (result.stopReason === 'interrupted' || result.epochs.length === 0) {
      await run.recorder?.finish('interrupted');
      return report;
    }
    // A losing trial of a study: its epochs are its record; testing and saving it would only
    // keep the worker from the next trial (and leave a model nobody should choose).
    if (result.stopReason === 'pruned') {
      await run.recorder?.finish('pruned', { error: pruneReason });
      return report;
    }
    if (testRows > 0) report.test = await testModel(db, opts, run.model, result, testRows);
    await saveModel(db, opts, run, result, report);
    await run.recorder?.finish('completed', { test: testRecord(report.test), modelDir: report.savedTo });
    return report;
  } finally {
    result.model.dispose();
  }
}

/** The test split's rows of the run's row set: ids up to its rowsUntil, in the version it read. */
function testRowSet(opts: TrainRunOptions, result: TrainResult): { maxId: number; asOf?: number } {
  return { maxId: result.rowsUntil, asOf: opts.tableVersion };
}

/** Metrics on the test split: on onnxruntime's session over the exported model after a native engine, else tfjs. */
async function testModel(
  db: Db,
  opts: TrainRunOptions,
  model: string,
  result: TrainResult,
  testRows: number,
): Promise<EvaluationReport> {
  opts.onTestStart?.(testRows);
  const engine = ['onnxruntime', 'onednn'].includes(result.backend) ? await testEngine(result.model) : undefined;
  try {
    return await evaluateClassifier(
      db,
      { name: model, model: result.model, labels: result.labels, inputShape: result.inputShape, engine },
      opts.table,
      'test',
      { memoryBudget: opts.memoryBudget, readParallelism: opts.readParallelism },
      testRowSet(opts, result),
      // A run trained on a subset is tested on the same subset.
      rowSubsetOf(result.hyperparameters),
    );
  } finally {
    await engine?.dispose();
  }
}

/** Writes the model folder and, unless `store: false`, keeps it in mldb_models; fills both into the report. */
async function saveModel(
  db: Db,
  opts: TrainRunOptions,
  run: RunContext,
  result: TrainResult,
  report: TrainReport,
): Promise<void> {
  const runId = run.recorder?.id ?? null;
  const resize = (await getDataset(db, opts.table)).resize;
  const files = await serializeModel(result.model, modelMetadata(opts, run.model, result, report, runId, resize));
  report.savedTo = await writeModelFolder(opts.save ?? defaultModelDir(opts.table, run.model), files);
  if (opts.store === false) return;
  const stored = await storeModel(
    db,
    {
      name: opts.store?.name ?? modelNameFor(report.savedTo),
      runId,
      architecture: run.model,
      dataset: opts.table,
      labels: result.labels,
      inputShape: result.inputShape,
      testAccuracy: report.test?.accuracy ?? null,
    },
    files,
  );
  report.storedModel = { id: stored.id, name: stored.name, version: stored.version };
}

/** The test pass as mldb_runs keeps it. */
function testRecord(t: EvaluationReport | null) {
  return (
    t && {
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
    }
  );
}
