import type { EpochRow } from '../db/run-types';

/**
 * What happens at the end of each epoch, as callbacks with their own state (Keras' callbacks):
 * the recipe's rules (EarlyStopping, ReduceLROnPlateau, ModelCheckpoint(save_best_only)) and
 * whatever watches a run (its record in mldb_runs, the lines a command prints). The loop in
 * training-loop.ts stays one loop that calls each in turn; each reads in one place, and none
 * reaches back into the loop but through `TrainingControl`.
 */

export interface TrainingControl {
  readonly learningRate: number;
  /** From the next step on. */
  setLearningRate(lr: number): void;
  /** Ends training after this epoch; the model is tested and saved as usual. */
  stopEarly(): void;
  /**
   * Ends training after this epoch as a losing trial of a study: the run is recorded `pruned`
   * with its epochs and `reason`, and is neither tested nor saved.
   */
  prune(reason: string): void;
  /** The weights as of now (batch-norm statistics included): a copy the caller owns. */
  captureWeights(): Promise<WeightsSnapshot>;
}

/** A copy of a model's weights, to put back at the end; `dispose` frees it. */
export interface WeightsSnapshot {
  restore(): void;
  dispose(): void;
}

/** Within an epoch, after each batch. */
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

/**
 * Where a complete epoch's `seconds` went: the engine's training steps, precise batch-norm's pass
 * and validation, each with the reading it waits for; the rest (seconds − the three) is assembling
 * batches, their targets and the loop's own turns. Run records keep only the total.
 */
export interface EpochPhases {
  epoch: number;
  seconds: number;
  steps: number;
  preciseBn: number;
  validation: number;
}

/**
 * Called by the loop, in the order given, for every complete epoch (a partial epoch, cut by an
 * interruption, is not one). A run's own observers come first, then the caller's, then the
 * recipe's rules.
 */
export interface TrainingCallback {
  onEpochEnd?(epoch: EpochRow, control: TrainingControl): void | Promise<void>;
  /** Before onEpochEnd, with the same epoch: its seconds split by phase (what a benchmark reports). */
  onEpochPhases?(phases: EpochPhases): void;
  /** After each batch: for progress shown within an epoch. */
  onBatchEnd?(progress: BatchProgress): void;
  /** Once after the last epoch (not after an interrupted run): the weights may still change here. */
  onTrainEnd?(epochs: EpochRow[]): void | Promise<void>;
  /** Always, last: frees what the callback holds. */
  dispose?(): void;
}

/** Stops after `patience` epochs without a val_loss better than the best by more than 1e-6. */
export class EarlyStopping implements TrainingCallback {
  #best = Infinity;
  #wait = 0;
  constructor(readonly patience: number) {}

  onEpochEnd(epoch: EpochRow, control: TrainingControl): void {
    if (epoch.valLoss === null) return;
    if (epoch.valLoss < this.#best - 1e-6) {
      this.#best = epoch.valLoss;
      this.#wait = 0;
    } else if (++this.#wait >= this.patience) {
      control.stopEarly();
    }
  }
}

/**
 * Multiplies the learning rate by `factor` after `patience` epochs without a val_loss better than
 * the best by more than 1e-4 (Keras' min_delta), then waits again from zero.
 */
export class ReduceLrOnPlateau implements TrainingCallback {
  #best = Infinity;
  #wait = 0;
  constructor(
    readonly patience: number,
    readonly factor: number,
  ) {}

  onEpochEnd(epoch: EpochRow, control: TrainingControl): void {
    if (epoch.valLoss === null) return;
    if (epoch.valLoss < this.#best - 1e-4) {
      this.#best = epoch.valLoss;
      this.#wait = 0;
    } else if (++this.#wait >= this.patience) {
      // Rounded so that records read 0.0001, not 0.00010000000000000002.
      control.setLearningRate(Number((control.learningRate * this.factor).toPrecision(12)));
      this.#wait = 0;
    }
  }
}

/** Keeps the weights of the epoch with the best val_loss and puts them back when training ends. */
export class RestoreBest implements TrainingCallback {
  #best = Infinity;
  #kept: { epoch: number; weights: WeightsSnapshot } | null = null;

  /** The epoch whose weights were kept, or null (no validation). */
  get epoch(): number | null {
    return this.#kept?.epoch ?? null;
  }

  async onEpochEnd(epoch: EpochRow, control: TrainingControl): Promise<void> {
    if (epoch.valLoss === null || !(epoch.valLoss < this.#best - 1e-6)) return;
    this.#best = epoch.valLoss;
    const weights = await control.captureWeights();
    this.#kept?.weights.dispose();
    this.#kept = { epoch: epoch.epoch, weights };
  }

  onTrainEnd(epochs: EpochRow[]): void {
    if (this.#kept && this.#kept.epoch !== epochs[epochs.length - 1]?.epoch) this.#kept.weights.restore();
  }

  dispose(): void {
    this.#kept?.weights.dispose();
  }
}

/** The recipe's rules for a run, in the order they act; `restoreBest` is among them when on. */
export function recipeRules(hp: {
  patience: number;
  reduceLrPatience: number;
  reduceLrFactor: number;
  restoreBest: boolean;
}): { rules: TrainingCallback[]; restoreBest: RestoreBest | null } {
  const restoreBest = hp.restoreBest ? new RestoreBest() : null;
  const rules: TrainingCallback[] = [
    ...(hp.patience > 0 ? [new EarlyStopping(hp.patience)] : []),
    ...(hp.reduceLrPatience > 0 ? [new ReduceLrOnPlateau(hp.reduceLrPatience, hp.reduceLrFactor)] : []),
    ...(restoreBest ? [restoreBest] : []),
  ];
  return { rules, restoreBest };
}
