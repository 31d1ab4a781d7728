import type { OnnxEngineSettings } from '../config';
import type { Db } from '../db/db';
import type { EpochRow } from '../db/run-types';
import { defaultMemoryBudget } from '../samples/memory-budget';
import { getArchitecture } from './architectures/registry';
import type { Architecture } from './architectures/types';
import type { TrainingBackendChoice } from './backend-names';
import { recipeRules, type BatchProgress, type TrainingCallback } from './callbacks';
import {
  openStepEngine,
  preferOneDnn,
  resolveWorkers,
  selectTrainingBackend,
  type TrainingBackend,
} from './engines/select-engine';
import type { StepEngine } from './engines/step-engine';
import { mulberry32 } from './seeded';
import { tf } from './tf';
import type { PreciseBnResult } from './precise-bn';
import { planData, type DataPlan, type TrainingData } from './training-data';
import { runEpochs, type StopReason } from './training-loop';
import { resolveTraining, type Hyperparameters } from './training-options';
import { checkStart, unfreezeRule, type PreparedStart, type StartSummary } from './start-from';
import { ReleasableEngine, workersForFreeze } from './freeze';

export type { Hyperparameters } from './training-options';
export type { BatchProgress, EpochPhases, TrainingCallback, TrainingControl, WeightsSnapshot } from './callbacks';
export type { DataPlan } from './training-data';
export { fingerprint } from './training-data';
export type { StopReason } from './training-loop';

export interface TrainOptions extends Partial<Hyperparameters> {
  table: string;
  model: string;
  backend?: TrainingBackendChoice;
  /** Bytes the training data's tensors may take before it is streamed (default: a quarter of RAM). */
  memoryBudget?: number;
  /** Connections reading the rows at once from one server (default from the cores). */
  readParallelism?: number;
  /**
   * tfjs replicas that share each batch (data-parallel, one core each); 1 trains on the main
   * thread; "auto" (default): one per core on wasm and cpu, 1 on onnxruntime and tensorflow.
   */
  workers?: number | 'auto';
  /** onnxruntime's switches (config.ts; MlDb passes the environment's): default blocked kernels, spinning threads. */
  onnx?: OnnxEngineSettings;
  /**
   * Train on rows with id ≤ this only (a past run's `rowsUntil` reproduces its row set). Default:
   * the largest id when training starts, so rows added meanwhile (a watch) do not shift the splits.
   */
  rowsUntil?: number;
  /**
   * Train on the rows, labels and splits of this version of the table (`TABLE@N`; a past run's
   * `tableVersion` reproduces its rows after edits). Default: the current rows.
   */
  tableVersion?: number;
  /** After onData: the engine's name, why it was chosen, and the threads each batch is split over. */
  onBackend?: (name: string, reason: string, workers: number) => void;
  /** The rows are planned and the engine chosen; awaited before training starts. */
  onData?: (info: DataPlan, run: RunChoices) => void | Promise<void>;
  /** Shorthand for a callback's onBatchEnd. */
  onBatch?: (progress: BatchProgress) => void;
  /** Shorthand for a callback's onEpochEnd, for a caller that only watches. */
  onEpoch?: (metrics: EpochMetrics) => void;
  /** Called at the end of each epoch, in this order, before the recipe's rules (callbacks.ts). */
  callbacks?: TrainingCallback[];
  /** Polled between batches: true stops training after the current batch (Ctrl-C). */
  shouldStop?: () => boolean;
}

/** What a run was resolved to once its rows are planned: the engine, and every hyperparameter. */
export interface RunChoices {
  backend: string;
  workers: number;
  hyperparameters: Hyperparameters;
  /** What the model starts from (--init-from) and keeps fixed (--freeze); null: from scratch. */
  start: StartSummary | null;
}

/** One epoch's figures: the shape run records store (db/run-types.ts). */
export type EpochMetrics = EpochRow;

export interface TrainResult {
  model: tf.LayersModel;
  labels: string[];
  inputShape: [number, number, number];
  epochs: EpochMetrics[];
  stopReason: StopReason;
  /** Why a study pruned the run (`stopReason` 'pruned'), else null. */
  pruneReason: string | null;
  backend: string;
  fingerprint: { rows: number; sha256: string };
  rowsUntil: number;
  tableVersion: number | null;
  split: { train: number; validation: number; validationFrom: DataPlan['validationFrom'] };
  streaming: boolean;
  workers: number;
  hyperparameters: Hyperparameters;
  /** Batch-norm statistics as evaluated and saved: recomputed over this many rows, or null (off, or no BN). */
  preciseBn: PreciseBnResult | null;
  /** With restoreBest: the epoch whose weights were kept (best val_loss), else null. */
  restoredEpoch: number | null;
  start: StartSummary | null;
}

/**
 * A run checked and planned, before anything trains: every option resolved, the architecture
 * fits the table, the rows are chosen and the engine is loaded. Whatever is wrong with the
 * request has been refused by now, so a run record created after this never records a bad flag.
 */
export interface PreparedTraining {
  architecture: Architecture;
  hyperparameters: Hyperparameters;
  data: TrainingData;
  backend: TrainingBackend;
  workers: number;
  /** The run's seeded sequence, after the hold-out shuffle drew from it. */
  random: () => number;
  choices: RunChoices;
  onnx?: OnnxEngineSettings;
  /** --init-from and --freeze, checked; null: from scratch. */
  start: PreparedStart | null;
}

type PrepareOptions = Omit<TrainOptions, 'onBackend' | 'onData' | 'onBatch' | 'onEpoch' | 'callbacks' | 'shouldStop'>;

/** Checks every option once, plans the rows and chooses the engine (see PreparedTraining). */
export async function prepareTraining(db: Db, opts: PrepareOptions): Promise<PreparedTraining> {
  const resolved = resolveTraining(opts);
  const hp = resolved.hyperparameters;
  const architecture = getArchitecture(opts.model);
  const random = mulberry32(hp.seed);
  const data = await planData(db, opts.table, architecture, hp, {
    budget: opts.memoryBudget ?? defaultMemoryBudget(),
    random,
    rowsUntil: opts.rowsUntil,
    tableVersion: opts.tableVersion,
    readParallelism: opts.readParallelism,
  });
  const network = buildNetwork(architecture, data, hp);
  const backend = preferOneDnn(await selectTrainingBackend(resolved.backend), resolved.backend, network, {
    optimizer: hp.optimizer,
    freezes: hp.freeze !== undefined,
  });
  network.dispose();
  const workers = resolveWorkers(workersForFreeze(resolved.workers, hp.freeze !== undefined), backend.name);
  const start = await checkStart(db, () => buildNetwork(architecture, data, hp), data.labels, hp);
  const choices = { backend: backend.name, workers, hyperparameters: hp, start: start?.summary ?? null };
  return { architecture, hyperparameters: hp, data, backend, workers, random, choices, onnx: opts.onnx, start };
}

/** The architecture for the table's shape and labels, initialised by the run's seed. */
function buildNetwork(architecture: Architecture, data: TrainingData, hp: Hyperparameters): tf.LayersModel {
  const inputShape: [number, number, number] = [data.shape.height, data.shape.width, data.shape.channels];
  return architecture.build(tf, { inputShape, numClasses: data.labels.length, seed: hp.seed });
}

/**
 * Trains a prepared run: builds the network, opens its engine and runs the epochs, calling
 * `callbacks` (then the recipe's rules) at the end of each. The caller owns the returned model.
 */
export async function fitModel(
  p: PreparedTraining,
  run: { callbacks?: TrainingCallback[]; shouldStop?: () => boolean } = {},
): Promise<TrainResult> {
  const { hyperparameters: hp, data } = p;
  const inputShape: [number, number, number] = [data.shape.height, data.shape.width, data.shape.channels];
  const model = buildNetwork(p.architecture, data, hp);
  const { rules, restoreBest } = recipeRules(hp);
  const callbacks = [...(run.callbacks ?? []), ...rules];
  let engine: StepEngine | undefined;
  try {
    await p.start?.apply(model);
    const open = (learningRate: number) =>
      openStepEngine(model, p.backend, {
        architecture: p.architecture.name,
        seed: hp.seed,
        optimizer: hp.optimizer,
        learningRate,
        weightDecay: hp.weightDecay,
        softTargets: hp.labelSmoothing > 0 || hp.classWeight !== 'none',
        cycleMomentum: hp.lrSchedule === 'onecycle',
        workers: p.workers,
        batchSize: hp.batchSize,
        onnx: p.onnx,
      });
    const freeze = p.start?.summary.freeze;
    if (freeze?.unfreezeAt) {
      const releasable = await ReleasableEngine.open(open, hp.learningRate);
      engine = releasable;
      callbacks.push(unfreezeRule(releasable, model, freeze, hp.epochs));
    } else engine = await open(hp.learningRate);
    const outcome = await runEpochs({
      model,
      steps: engine,
      data,
      hp,
      random: p.random,
      callbacks,
      shouldStop: run.shouldStop,
    });
    return {
      ...outcome,
      model,
      labels: data.labels,
      inputShape,
      backend: p.backend.name,
      fingerprint: data.info.fingerprint,
      rowsUntil: data.info.rowsUntil,
      tableVersion: data.info.tableVersion,
      split: { train: data.info.train, validation: data.info.validation, validationFrom: data.info.validationFrom },
      streaming: data.info.streaming,
      workers: p.workers,
      hyperparameters: hp,
      // Neither an interrupted nor a pruned run puts the best weights back: neither is saved.
      restoredEpoch:
        restoreBest && (outcome.stopReason === 'completed' || outcome.stopReason === 'early-stopping')
          ? restoreBest.epoch
          : null,
      start: p.choices.start,
    };
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    await engine?.close();
    for (const c of callbacks) c.dispose?.();
  }
}

/** The callback that `onEpoch` and `onBatch` stand for, if either is given. */
export function watchingCallbacks(opts: Pick<TrainOptions, 'onEpoch' | 'onBatch'>): TrainingCallback[] {
  const { onEpoch, onBatch } = opts;
  if (!onEpoch && !onBatch) return [];
  return [{ onEpochEnd: onEpoch && ((e) => onEpoch(e)), onBatchEnd: onBatch }];
}

/**
 * The original's ChoseModel, done properly: rows of the train split (never test) → a seeded
 * hold-out for validation → a named architecture trained with a seeded shuffle, on the engine the
 * backend choice gives (engines/), with the recipe's rules as callbacks (callbacks.ts). Records
 * nothing: training-run.ts composes this with a run record, the test pass and the saved model.
 */
export async function trainModel(db: Db, opts: TrainOptions): Promise<TrainResult> {
  const prepared = await prepareTraining(db, opts);
  await opts.onData?.(prepared.data.info, prepared.choices);
  opts.onBackend?.(prepared.backend.name, prepared.backend.reason, prepared.workers);
  return fitModel(prepared, {
    callbacks: [...watchingCallbacks(opts), ...(opts.callbacks ?? [])],
    shouldStop: opts.shouldStop,
  });
}
