import type { BatchNormTarget } from '../precise-bn';

/**
 * What the training loop runs its batches on. The loop (train.ts) owns epochs, shuffles, batches,
 * validation, precise batch-norm, callbacks and records; an engine owns the weights while training
 * and computes: a training step, inference for validation, batch-norm statistics.
 */
export interface StepEngine {
  /** What trained, as run records and the CLI name it: onnxruntime, tensorflow, wasm or cpu. */
  readonly backend: string;
  /** Threads each batch was split over (1 but for tfjs data-parallel training). */
  readonly workers: number;
  /** One optimizer step on n rows (xs: N × H × W × C, ys one-hot); the batch's loss and accuracy. */
  step(xs: Float32Array, ys: Float32Array, n: number): Promise<{ loss: number; accuracy: number }>;
  /** From the next step on (reduce-on-plateau), without rebuilding anything. */
  setLearningRate(lr: number): void;
  /**
   * The momentum (momentum's coefficient, the Adams' β₁) from the next step on, for a schedule
   * that cycles it (onecycle); optimizers without one ignore it. Each step, before it, once begun.
   */
  setMomentum(momentum: number): void;
  /** Probabilities (n × classes) at inference: batch-norm by its moving statistics, dropout off. */
  predict(xs: Float32Array, n: number): Promise<Float32Array>;
  readonly batchNorm: BatchNormTarget;
  /** Writes the engine's weights into the tfjs model (what is saved); nothing where they are the model's own. */
  syncModel(): void;
  close(): Promise<void>;
}

/** The fraction of rows whose largest probability is the true class (ties: the first, as argmax). */
export function batchAccuracy(probabilities: Float32Array, ys: Float32Array, n: number): number {
  const classes = probabilities.length / n;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let truth = 0;
    for (let c = 1; c < classes; c++) {
      if (probabilities[i * classes + c] > probabilities[i * classes + best]) best = c;
      if (ys[i * classes + c] > ys[i * classes + truth]) truth = c;
    }
    if (best === truth) correct++;
  }
  return n > 0 ? correct / n : NaN;
}
