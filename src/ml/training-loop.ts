import type { EpochRow } from '../db/run-types';
import type { ImageShape } from '../image-shape';
import { InvalidDataError } from '../errors';
import { canonicalLabel } from '../labels';
import { augmenter } from './augment';
import type { BatchProgress, EpochPhases, TrainingCallback, TrainingControl } from './callbacks';
import type { StepEngine } from './engines/step-engine';
import { evaluateSource } from './evaluate';
import { recomputeBatchNormStatistics, type PreciseBnResult } from './precise-bn';
import { mulberry32, seededPermutation } from './seeded';
import { tf } from './tf';
import type { TrainingData } from './training-data';
import type { Hyperparameters } from './training-options';
import { balancedOrder } from './balanced-sampler';
import { batchTargets, classWeights } from './class-weights';
import { lrScheduleFor, scheduleFactor, scheduleMomentum, type LrSchedule } from './lr-schedule';

export type StopReason = 'completed' | 'early-stopping' | 'pruned' | 'interrupted';

export interface LoopInput {
  model: tf.LayersModel;
  steps: StepEngine;
  data: TrainingData;
  hp: Hyperparameters;
  /** The run's seeded sequence, as the data plan left it: each epoch's shuffle draws from it. */
  random: () => number;
  /** Called in this order at the end of every complete epoch. */
  callbacks: TrainingCallback[];
  /** Polled between batches and after each epoch: true stops training there (Ctrl-C). */
  shouldStop?: () => boolean;
}

export interface LoopOutcome {
  epochs: EpochRow[];
  stopReason: StopReason;
  /** Why a study pruned the run (`stopReason` 'pruned'), else null. */
  pruneReason: string | null;
  /** Batch-norm statistics as evaluated and saved: recomputed over this many rows, or null (off, or no BN). */
  preciseBn: PreciseBnResult | null;
}

/** Sums over the batches of one epoch. */
interface EpochSums {
  loss: number;
  accuracy: number;
  trainSeconds: number;
  /** Of trainSeconds, the time spent in the engine's steps. */
  stepSeconds: number;
}

/**
 * The epochs of one run: each trains on a seeded shuffle, validates, and hands its figures to
 * every callback in turn. The state the callbacks may change (the learning rate, whether to
 * stop) is this object's, reached only through `TrainingControl`.
 */
export async function runEpochs(input: LoopInput): Promise<LoopOutcome> {
  return new EpochLoop(input).run();
}

class EpochLoop {
  readonly #in: LoopInput;
  readonly #epochs: EpochRow[] = [];
  readonly #control: TrainingControl;
  readonly #classIndex: Map<string, number>;
  readonly #augment: ((xs: Float32Array, n: number) => Float32Array) | null;
  readonly #bnPositions: Uint32Array;
  readonly #watchesBatches: boolean;
  /** Each class's loss weight (--class-weight), or null. */
  readonly #weights: Float64Array | null;
  readonly #schedule: LrSchedule | null;
  #step = 0;
  /** The rate of the epoch's last batch so far (the schedule moves it batch by batch). */
  #epochRate: number;
  #learningRate: number;
  #stopReason: StopReason = 'completed';
  #pruneReason: string | null = null;
  #bnCurrent = false;
  #preciseBn: PreciseBnResult | null = null;
  #runStart = performance.now();
  #samplesSoFar = 0;

  constructor(input: LoopInput) {
    this.#in = input;
    const { hp, data } = input;
    this.#learningRate = hp.learningRate;
    this.#epochRate = hp.learningRate;
    this.#classIndex = new Map(data.labels.map((l, i) => [l, i]));
    this.#weights = classWeights(
      hp.classWeight,
      data.labels,
      data.labels.map((l) => data.info.classCounts[l]),
    );
    this.#schedule = lrScheduleFor(hp, Math.ceil(data.trainPositions.length / hp.batchSize));
    this.#augment = hp.augment ? augmenterFor(hp, data.shape) : null;
    // Precise BN's sample: the first bnSamples of a permutation of its own (the training shuffle's
    // random sequence is untouched, so the weights do not depend on it), in that random order (a
    // batch of one label would skew the batch statistics the forward pass normalises with).
    this.#bnPositions = seededPermutation(data.trainPositions.length, mulberry32(hp.seed ^ 0x5bd1e995))
      .slice(0, hp.preciseBn ? hp.bnSamples : 0)
      .map((p) => data.trainPositions[p]);
    this.#watchesBatches = input.callbacks.some((c) => c.onBatchEnd);
    this.#control = this.#makeControl();
  }

  async run(): Promise<LoopOutcome> {
    const { hp, callbacks, shouldStop, steps } = this.#in;
    for (let epoch = 1; epoch <= hp.epochs && this.#stopReason === 'completed'; epoch++) {
      const started = performance.now();
      const sums = await this.#trainEpoch(epoch);
      if (!sums) break; // a partial epoch is not an epoch: nobody hears of it
      const { metrics, phases } = await this.#finishEpoch(epoch, started, sums);
      this.#epochs.push(metrics);
      for (const c of callbacks) c.onEpochPhases?.(phases);
      for (const c of callbacks) await c.onEpochEnd?.(metrics, this.#control);
      // After the callbacks, so that a stop asked for during them ends the run here.
      if (shouldStop?.()) this.#stopReason = 'interrupted';
    }
    // Every completed epoch refreshed the statistics before its validation; an interrupted or
    // pruned run is not saved, and neither Ctrl-C nor the next trial should wait for another pass.
    if (this.#stopReason !== 'interrupted' && this.#stopReason !== 'pruned') {
      await this.#refreshBatchNorm();
      steps.syncModel();
      for (const c of callbacks) await c.onTrainEnd?.(this.#epochs);
    }
    return {
      epochs: this.#epochs,
      stopReason: this.#stopReason,
      pruneReason: this.#stopReason === 'pruned' ? this.#pruneReason : null,
      preciseBn: this.#preciseBn,
    };
  }

  #makeControl(): TrainingControl {
    const { steps, model } = this.#in;
    const learningRate = () => this.#learningRate;
    return {
      get learningRate() {
        return learningRate();
      },
      setLearningRate: (lr) => {
        this.#learningRate = lr;
        steps.setLearningRate(lr);
      },
      stopEarly: () => {
        // An interruption wins: the run is recorded as interrupted, whatever a rule decides.
        if (this.#stopReason === 'completed') this.#stopReason = 'early-stopping';
      },
      prune: (reason) => {
        // An interruption wins as above; a pruned trial is pruned whatever a recipe's rule asked.
        if (this.#stopReason === 'interrupted') return;
        this.#stopReason = 'pruned';
        this.#pruneReason = reason;
      },
      captureWeights: async () => {
        steps.syncModel();
        const weights = model.getWeights().map((w) => w.clone());
        return { restore: () => model.setWeights(weights), dispose: () => tf.dispose(weights) };
      },
    };
  }

  /** The epoch's batches; null when a stop was asked for before its last one. */
  async #trainEpoch(epoch: number): Promise<EpochSums | null> {
    const { data, hp, steps, shouldStop, random } = this.#in;
    const started = performance.now();
    const order =
      hp.batchSampler === 'balanced'
        ? balancedOrder(data.trainPositions, (p) => this.#classOf(p), random)
        : seededPermutation(data.trainPositions.length, random).map((p) => data.trainPositions[p]);
    this.#epochRate = this.#learningRate;
    const sums = { loss: 0, accuracy: 0, done: 0, stepSeconds: 0 };
    for await (const batch of data.trainSource.batches(order, hp.batchSize)) {
      const n = batch.positions.length;
      const xs = this.#augment ? this.#augment(batch.xs, n) : batch.xs;
      if (this.#schedule) {
        const momentum = scheduleMomentum(this.#schedule, this.#step);
        if (momentum !== undefined) steps.setMomentum(momentum);
        this.#epochRate = this.#learningRate * scheduleFactor(this.#schedule, this.#step++);
        steps.setLearningRate(this.#epochRate);
      }
      const targets = this.#targets(batch.positions);
      const stepStart = performance.now();
      const { loss, accuracy } = await steps.step(xs, targets, n);
      sums.stepSeconds += (performance.now() - stepStart) / 1000;
      this.#bnCurrent = false;
      if (!Number.isFinite(loss)) throw diverged(epoch, loss, this.#learningRate);
      sums.loss += loss * n;
      sums.accuracy += accuracy * n;
      sums.done += n;
      this.#samplesSoFar += n;
      // A step settles in microtasks only: without a macrotask turn, signals (Ctrl-C), spinner
      // frames and database reads would wait until training ends.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.#watchesBatches) this.#reportBatch(epoch, sums);
      if (shouldStop?.()) {
        this.#stopReason = 'interrupted';
        return null;
      }
    }
    const trainSeconds = (performance.now() - started) / 1000;
    return { loss: sums.loss, accuracy: sums.accuracy, trainSeconds, stepSeconds: sums.stepSeconds };
  }

  #classOf(position: number): number {
    return this.#classIndex.get(canonicalLabel(this.#in.data.trainSource.index.labels[position]))!;
  }

  /** One-hot rows, smoothed and weighted as the run asks (class-weights.ts). */
  #targets(positions: ArrayLike<number>): Float32Array {
    const classes = Array.from(positions, (p) => this.#classOf(p));
    return batchTargets(classes, this.#in.data.labels.length, this.#in.hp.labelSmoothing, this.#weights);
  }

  #reportBatch(epoch: number, sums: { loss: number; accuracy: number; done: number }): void {
    const { hp, data, callbacks } = this.#in;
    const nTrain = data.trainPositions.length;
    const rate = this.#samplesSoFar / ((performance.now() - this.#runStart) / 1000);
    const progress: BatchProgress = {
      epoch,
      epochs: hp.epochs,
      done: sums.done,
      samples: nTrain,
      loss: sums.loss / sums.done,
      accuracy: sums.accuracy / sums.done,
      samplesPerSecond: rate,
      etaSeconds: ((hp.epochs - epoch) * nTrain + nTrain - sums.done) / rate,
    };
    for (const c of callbacks) c.onBatchEnd?.(progress);
  }

  /** Validation and the epoch's figures, with the batch-norm statistics it validates with. */
  async #finishEpoch(
    epoch: number,
    started: number,
    sums: EpochSums,
  ): Promise<{ metrics: EpochRow; phases: EpochPhases }> {
    const { data, steps } = this.#in;
    const nTrain = data.trainPositions.length;
    const bnStart = performance.now();
    await this.#refreshBatchNorm();
    const valStart = performance.now();
    const valClass = (p: number) => this.#classIndex.get(canonicalLabel(data.valSource.index.labels[p]))!;
    const val =
      data.valPositions.length > 0
        ? await evaluateSource(
            (xs, n) => steps.predict(xs, n),
            data.valSource,
            data.valPositions,
            valClass,
            data.labels.length,
          )
        : null;
    if (val && !Number.isFinite(val.loss)) throw diverged(epoch, val.loss, this.#learningRate);
    const end = performance.now();
    const seconds = (end - started) / 1000;
    const metrics = {
      epoch,
      loss: sums.loss / nTrain,
      accuracy: sums.accuracy / nTrain,
      valLoss: val?.loss ?? null,
      valAccuracy: val?.accuracy ?? null,
      seconds,
      samplesPerSecond: nTrain / sums.trainSeconds,
      learningRate: this.#epochRate,
    };
    const phases = {
      epoch,
      seconds,
      steps: sums.stepSeconds,
      preciseBn: (valStart - bnStart) / 1000,
      validation: (end - valStart) / 1000,
    };
    return { metrics, phases };
  }

  async #refreshBatchNorm(): Promise<void> {
    const { hp, steps, data } = this.#in;
    if (!hp.preciseBn || this.#bnCurrent) return;
    const result = await recomputeBatchNormStatistics(
      steps.batchNorm,
      data.trainSource,
      this.#bnPositions,
      hp.batchSize,
    );
    this.#preciseBn = result.layers > 0 ? result : null;
    this.#bnCurrent = true;
  }
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
