import { tfjsEngine } from '../inference-engine';
import { makeOptimizer } from '../optimizers';
import { dataParallelStepper, localStepper, type ParallelOptions, type Stepper } from '../parallel/data-parallel';
import { tfjsBatchNorm } from '../precise-bn';
import type { tf } from '../tf';
import type { StepEngine } from './step-engine';

/** The data-parallel trainer's options; `workers` 1 trains on this thread. */
export type TfjsEngineOptions = ParallelOptions;

/**
 * TensorFlow.js on the selected backend (tensorflow, wasm or cpu): the model, compiled with its
 * optimizer, trains itself (LayersModel.trainOnBatch), or with workers > 1 each batch is split over
 * replicas on their own threads whose gradients are averaged (parallel/data-parallel.ts).
 */
export async function tfjsStepEngine(model: tf.LayersModel, o: TfjsEngineOptions): Promise<StepEngine> {
  const optimizer = makeOptimizer(o.optimizer, o.learningRate, o.weightDecay);
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  let stepper: Stepper;
  try {
    stepper = o.workers > 1 ? await dataParallelStepper(model, o) : localStepper(model);
  } catch (e) {
    optimizer.dispose();
    throw e;
  }
  const inference = tfjsEngine(model);
  return {
    backend: o.backend,
    workers: o.workers,
    step: (xs, ys, n) => stepper.step(xs, ys, n),
    setLearningRate: (lr) => stepper.setLearningRate(lr),
    setMomentum: (m) => stepper.setMomentum(m),
    predict: (xs, n) => inference.run(xs, n),
    batchNorm: tfjsBatchNorm(model),
    syncModel: () => undefined,
    async close() {
      await stepper.close();
      optimizer.dispose();
    },
  };
}
