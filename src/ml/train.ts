import crypto from 'node:crypto';
import { labels as tableLabels, maxRowId, splitCounts } from '../db/table-stats';
import { currentVersion } from '../db/table-versions';
import type { Db } from '../db/db';
import { getDataset, requireShape } from '../db/registry';
import type { ImageShape } from '../image-shape';
import type { RowIndex } from '../samples/pixel-matrix';
import type { EpochRow } from '../db/run-types';
import { openSampleSource, type SampleSource } from '../samples/sample-source';
import { defaultMemoryBudget } from '../samples/memory-budget';
import { InvalidDataError, UsageError } from '../errors';
import { canonicalLabel } from '../labels';
import { getArchitecture, requireFit } from './architectures/registry';
import type { Architecture } from './architectures/types';
import type { TrainingBackendChoice } from './backend-names';
import {
  EarlyStopping,
  ReduceLrOnPlateau,
  RestoreBest,
  type TrainingCallback,
  type TrainingControl,
} from './callbacks';
import { openStepEngine, resolveWorkers, selectTrainingBackend } from './engines/select-engine';
import type { StepEngine } from './engines/step-engine';
import { evaluateSource } from './evaluate';
import { mulberry32, seededPermutation } from './seeded';
import { tf } from './tf';
import { recomputeBatchNormStatistics, type PreciseBnResult } from './precise-bn';
import { augmenter } from './augment';
import { resolveTraining, type Hyperparameters } from './training-options';

export type { Hyperparameters } from './training-options';

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
  /**
   * The rows are planned and the engine chosen; awaited before training starts (a run record is
   * created here).
   */
  onData?: (info: DataPlan, run: RunChoices) => void | Promise<void>;
  onBatch?: (progress: BatchProgress) => void;
  onEpoch?: (metrics: EpochMetrics) => void;
  /** Polled between batches: true stops training after the current batch (Ctrl-C). */
  shouldStop?: () => boolean;
}

/** What a run was resolved to once its rows are planned: the engine, and every hyperparameter. */
export interface RunChoices {
  backend: string;
  workers: number;
  hyperparameters: Hyperparameters;
}

export interface DataPlan {
  train: number;
  validation: number;
  /** "held-out": a seeded share of the train split; "split": the rows imported as validation. */
  validationFrom: 'held-out' | 'split';
  streaming: boolean;
  /** Rows per database read when streaming. */
  chunkRows: number;
  memoryBudget: number;
  /** Count and hash of exactly the rows used (train and validation). */
  fingerprint: { rows: number; sha256: string };
  /** The largest row id read: the run's row set is the rows with id ≤ this. */
  rowsUntil: number;
  /** The table version read (null: a sharded table, which has no versions). */
  tableVersion: number | null;
}

export interface BatchProgress {
  epoch: number;
  epochs: number;
  /** Samples trained so far in this epoch, of `samples`. */
  done: number;
  samples: number;
  /** Running means over this epoch. */
  loss: number;
  accuracy: number;
  samplesPerSecond: number;
  /** Seconds until the last epoch ends at the pace so far (validation included). */
  etaSeconds: number;
}

/** One epoch's figures: the shape run records store (db/run-types.ts). */
export type EpochMetrics = EpochRow;

export type StopReason = 'completed' | 'early-stopping' | 'interrupted';

export interface TrainResult {
  model: tf.LayersModel;
  labels: string[];
  inputShape: [number, number, number];
  epochs: EpochMetrics[];
  stopReason: StopReason;
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
}

/** The fingerprint of exactly the rows used: count and a hash over ids and content hashes. */
export function fingerprint(...indexes: RowIndex[]): { rows: number; sha256: string } {
  const h = crypto.createHash('sha256');
  let rows = 0;
  for (const index of indexes) {
    for (let i = 0; i < index.count; i++) {
      h.update(String(index.ids[i]));
      h.update(index.hashes[i]);
    }
    rows += index.count;
  }
  return { rows, sha256: h.digest('hex') };
}

interface Plan {
  shape: ImageShape;
  labels: string[];
  trainSource: SampleSource;
  trainPositions: Uint32Array;
  valSource: SampleSource;
  valPositions: Uint32Array;
  info: DataPlan;
}

/**
 * Which rows train and which validate. Rows imported into the validation split validate, when
 * there are any; otherwise a seeded shuffle of the train split holds `validationSplit` out.
 * The test split is never read here.
 */
async function planData(
  db: Db,
  table: string,
  arch: Architecture,
  hp: Hyperparameters,
  budget: number,
  random: () => number,
  rows: { rowsUntil?: number; tableVersion?: number },
  readParallelism: number | undefined,
): Promise<Plan> {
  const dataset = await getDataset(db, table);
  const shape = requireShape(dataset);
  requireFit(arch, shape);
  const asOf = rows.tableVersion;
  // The version read is recorded beside the row set: `train --like run:ID` reads it again.
  const tableVersion = asOf ?? (dataset.shards === null ? await currentVersion(db, table) : null);
  const maxId = rows.rowsUntil ?? (await maxRowId(db, table, asOf));
  // Rows stored before labels had one spelling may hold `seven` and `seven `: one class, as the
  // server's collation and today's imports have it.
  const labels = [...new Set((await tableLabels(db, table, { maxId, asOf })).map(canonicalLabel))];
  if (labels.length < 2)
    throw new InvalidDataError(
      `table "${table}" has ${labels.length} label(s); training needs at least 2`,
      'import images of at least two labels',
    );
  const counts = await splitCounts(db, table, { maxId, asOf });
  const nTrainSplit = counts.train;
  const nValSplit = counts.validation;
  const total = nTrainSplit + nValSplit;
  if (nTrainSplit === 0)
    throw new InvalidDataError(`table "${table}" has no rows in the train split`, 'import images first');
  const share = (n: number) => Math.floor((budget * n) / Math.max(total, 1));
  const trainSource = await openSampleSource(
    db,
    table,
    shape,
    { split: 'train', maxId, asOf },
    { memoryBudget: share(nTrainSplit), batchSize: hp.batchSize, readParallelism },
  );
  const all = seededPermutation(trainSource.index.count, random);
  let valSource = trainSource;
  let valPositions: Uint32Array;
  let trainPositions: Uint32Array;
  let validationFrom: DataPlan['validationFrom'] = 'held-out';
  if (nValSplit > 0) {
    valSource = await openSampleSource(
      db,
      table,
      shape,
      { split: 'validation', maxId, asOf },
      { memoryBudget: share(nValSplit), batchSize: hp.batchSize, readParallelism },
    );
    valPositions = Uint32Array.from(valSource.index.ids.keys());
    trainPositions = all;
    validationFrom = 'split';
  } else {
    const nVal = Math.round(trainSource.index.count * hp.validationSplit);
    if (hp.validationSplit > 0 && (nVal < 1 || nVal >= trainSource.index.count)) {
      throw new InvalidDataError(
        `table "${table}" has ${trainSource.index.count} training rows: too few for a validation split of ` +
          `${hp.validationSplit}`,
        'import more images, or lower --validation-split (0 trains without validation)',
      );
    }
    valPositions = all.slice(0, nVal);
    trainPositions = all.slice(nVal);
  }
  if (hp.batchSize > trainPositions.length) {
    throw new UsageError(
      `--batch-size ${hp.batchSize} is larger than the ${trainPositions.length} training rows`,
      `use at most ${trainPositions.length}`,
    );
  }
  return {
    shape,
    labels,
    trainSource,
    trainPositions,
    valSource,
    valPositions,
    info: {
      train: trainPositions.length,
      validation: valPositions.length,
      validationFrom,
      streaming: trainSource.streaming || valSource.streaming,
      chunkRows: trainSource.chunkRows,
      memoryBudget: budget,
      fingerprint:
        valSource === trainSource ? fingerprint(trainSource.index) : fingerprint(trainSource.index, valSource.index),
      rowsUntil: maxId,
      tableVersion,
    },
  };
}

/**
 * The original's ChoseModel, done properly: rows of the train split (never test) → a seeded
 * hold-out for validation → a named architecture trained with a seeded shuffle, on the engine the
 * backend choice gives (engines/), with the recipe's rules as callbacks (callbacks.ts).
 */
export async function trainModel(db: Db, opts: TrainOptions): Promise<TrainResult> {
  const resolved = resolveTraining(opts);
  const hp = resolved.hyperparameters;
  const arch = getArchitecture(opts.model);
  const random = mulberry32(hp.seed);
  const budget = opts.memoryBudget ?? defaultMemoryBudget();
  const plan = await planData(
    db,
    opts.table,
    arch,
    hp,
    budget,
    random,
    { rowsUntil: opts.rowsUntil, tableVersion: opts.tableVersion },
    opts.readParallelism,
  );
  const backend = await selectTrainingBackend(resolved.backend);
  const workers = resolveWorkers(resolved.workers, backend.name);
  await opts.onData?.(plan.info, { backend: backend.name, workers, hyperparameters: hp });
  opts.onBackend?.(backend.name, backend.reason, workers);

  const { shape, labels, trainSource, trainPositions, valSource, valPositions } = plan;
  const classIndex = new Map(labels.map((l, i) => [l, i]));
  const trainClass = (p: number) => classIndex.get(canonicalLabel(trainSource.index.labels[p]))!;
  const valClass = (p: number) => classIndex.get(canonicalLabel(valSource.index.labels[p]))!;
  const inputShape: [number, number, number] = [shape.height, shape.width, shape.channels];
  const model = arch.build(tf, { inputShape, numClasses: labels.length, seed: hp.seed });
  const nTrain = trainPositions.length;
  // Precise BN's sample: the first bnSamples of a permutation of its own (the training shuffle's
  // random sequence is untouched, so the weights do not depend on it), in that random order (a
  // batch of one label would skew the batch statistics the forward pass normalises with).
  const bnPositions = seededPermutation(nTrain, mulberry32(hp.seed ^ 0x5bd1e995))
    .slice(0, hp.preciseBn ? hp.bnSamples : 0)
    .map((p) => trainPositions[p]);
  const augment = hp.augment ? augmenterFor(hp, shape) : null;
  const restoreBest = hp.restoreBest ? new RestoreBest() : null;
  const callbacks: TrainingCallback[] = [
    ...(hp.patience > 0 ? [new EarlyStopping(hp.patience)] : []),
    ...(hp.reduceLrPatience > 0 ? [new ReduceLrOnPlateau(hp.reduceLrPatience, hp.reduceLrFactor)] : []),
    ...(restoreBest ? [restoreBest] : []),
  ];
  let engine: StepEngine | undefined;
  const epochs: EpochMetrics[] = [];
  let stopReason: StopReason = 'completed';
  let preciseBn: PreciseBnResult | null = null;
  try {
    engine = await openStepEngine(model, backend, {
      architecture: arch.name,
      seed: hp.seed,
      optimizer: hp.optimizer,
      learningRate: hp.learningRate,
      workers,
    });
    const steps = engine;
    let bnCurrent = false;
    const refreshBatchNorm = async () => {
      if (!hp.preciseBn || bnCurrent) return;
      const result = await recomputeBatchNormStatistics(steps.batchNorm, trainSource, bnPositions, hp.batchSize);
      preciseBn = result.layers > 0 ? result : null;
      bnCurrent = true;
    };
    let learningRate = hp.learningRate;
    const control: TrainingControl = {
      get learningRate() {
        return learningRate;
      },
      setLearningRate(lr) {
        learningRate = lr;
        steps.setLearningRate(lr);
      },
      stopEarly: () => (stopReason = 'early-stopping'),
      captureWeights: async () => {
        steps.syncModel();
        const weights = model.getWeights().map((w) => w.clone());
        return { restore: () => model.setWeights(weights), dispose: () => tf.dispose(weights) };
      },
    };
    const runStart = performance.now();
    let samplesSoFar = 0;
    for (let epoch = 1; epoch <= hp.epochs && stopReason === 'completed'; epoch++) {
      const started = performance.now();
      const order = seededPermutation(nTrain, random).map((p) => trainPositions[p]);
      let lossSum = 0;
      let accSum = 0;
      let done = 0;
      for await (const batch of trainSource.batches(order, hp.batchSize)) {
        const n = batch.positions.length;
        const ys = new Float32Array(n * labels.length);
        for (let i = 0; i < n; i++) ys[i * labels.length + trainClass(batch.positions[i])] = 1;
        const { loss, accuracy } = await steps.step(augment ? augment(batch.xs, n) : batch.xs, ys, n);
        bnCurrent = false;
        if (!Number.isFinite(loss)) throw diverged(epoch, loss, learningRate);
        lossSum += loss * n;
        accSum += accuracy * n;
        done += n;
        samplesSoFar += n;
        // A step settles in microtasks only: without a macrotask turn, signals (Ctrl-C), spinner
        // frames and database reads would wait until training ends.
        await new Promise((resolve) => setImmediate(resolve));
        if (opts.onBatch) {
          const rate = samplesSoFar / ((performance.now() - runStart) / 1000);
          opts.onBatch({
            epoch,
            epochs: hp.epochs,
            done,
            samples: nTrain,
            loss: lossSum / done,
            accuracy: accSum / done,
            samplesPerSecond: rate,
            etaSeconds: ((hp.epochs - epoch) * nTrain + nTrain - done) / rate,
          });
        }
        if (opts.shouldStop?.()) {
          stopReason = 'interrupted';
          break;
        }
      }
      if (stopReason === 'interrupted') break; // a partial epoch is not an epoch: it is not recorded
      const trainSeconds = (performance.now() - started) / 1000;
      await refreshBatchNorm();
      const val =
        valPositions.length > 0
          ? await evaluateSource((xs, n) => steps.predict(xs, n), valSource, valPositions, valClass, labels.length)
          : null;
      if (val && !Number.isFinite(val.loss)) throw diverged(epoch, val.loss, learningRate);
      const metrics: EpochMetrics = {
        epoch,
        loss: lossSum / nTrain,
        accuracy: accSum / nTrain,
        valLoss: val?.loss ?? null,
        valAccuracy: val?.accuracy ?? null,
        seconds: (performance.now() - started) / 1000,
        samplesPerSecond: nTrain / trainSeconds,
        learningRate,
      };
      epochs.push(metrics);
      opts.onEpoch?.(metrics);
      if (opts.shouldStop?.()) stopReason = 'interrupted';
      else for (const c of callbacks) await c.onEpochEnd?.(metrics, control);
    }
    // Every completed epoch refreshed the statistics before its validation; an interrupted run is
    // not saved, and Ctrl-C should not wait for another pass over the sample.
    if (stopReason !== 'interrupted') {
      await refreshBatchNorm();
      steps.syncModel();
      for (const c of callbacks) await c.onTrainEnd?.(epochs);
    }
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    await engine?.close();
    for (const c of callbacks) c.dispose?.();
  }
  return {
    model,
    labels,
    inputShape,
    epochs,
    stopReason,
    backend: backend.name,
    fingerprint: plan.info.fingerprint,
    rowsUntil: plan.info.rowsUntil,
    tableVersion: plan.info.tableVersion,
    split: { train: nTrain, validation: valPositions.length, validationFrom: plan.info.validationFrom },
    streaming: plan.info.streaming,
    workers,
    hyperparameters: hp,
    preciseBn,
    restoredEpoch: restoreBest && stopReason !== 'interrupted' ? restoreBest.epoch : null,
  };
}

/**
 * A loss that is NaN or infinite stays so: every later step and metric would be garbage, and a
 * database column would store it as 0. The run fails here, saying what to change.
 */
function diverged(epoch: number, loss: number, learningRate: number): InvalidDataError {
  return new InvalidDataError(
    `training diverged in epoch ${epoch}: the loss became ${loss}`,
    `train again with a lower --learning-rate (it was ${learningRate})`,
    { field: 'learningRate', reason: 'diverged' },
  );
}

function augmenterFor(hp: Hyperparameters, shape: ImageShape) {
  return augmenter(
    {
      rotation: hp.augmentRotation,
      widthShift: hp.augmentWidthShift,
      heightShift: hp.augmentHeightShift,
      zoom: hp.augmentZoom,
      flip: hp.augmentFlip,
    },
    shape,
    hp.seed,
  );
}
