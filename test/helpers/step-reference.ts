import { ARCHITECTURES } from '../../src/ml/architectures/registry';
import { withDropoutHeld } from '../../src/ml/architectures/layers';
import type { OptimizerName } from '../../src/ml/optimizer-names';
import { makeOptimizer } from '../../src/ml/optimizers';
import { tf } from '../../src/ml/tf';

/**
 * What the two native engines' numerics tests share (onnx-training.test.ts, onednn-training.test.ts):
 * the models, the batches, the measure and the bounds they are held to against tfjs. The bounds'
 * reasons are in onnx-training.test.ts.
 */
export const OVERALL_TOLERANCE = 2e-2;
export const WEIGHT_TOLERANCE = 1e-1;
export const UPDATE_TOLERANCE = 1e-3;
/** The architectures whose gradients agree to 1e-5, where an update rule 1% off would show. */
export const TIGHT = ['lenet5', 'keras_mnist_cnn', 'tiny_xception', 'big_xception'];

export function build(name: string, inputShape: [number, number, number]): tf.LayersModel {
  return ARCHITECTURES.get(name)!.build(tf, { inputShape, numClasses: 10, seed: 4 });
}

/** n random images in [0, 1) (real digits' exact zeros put many ReLU inputs at 0 exactly) and cycling labels. */
export function randomBatch([h, w, c]: [number, number, number], n: number) {
  let s = 7;
  const random = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const xs = Float32Array.from({ length: n * h * w * c }, random);
  const ys = new Float32Array(n * 10);
  for (let i = 0; i < n; i++) ys[i * 10 + (i % 10)] = 1;
  return { xs, ys };
}

/** ‖a − b‖ / ‖b‖ over every weight together. */
export function overall(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let d = 0;
  let r = 0;
  for (const [k, v] of b) {
    const got = a.get(k)!;
    v.forEach((x, i) => {
      d += (got[i] - x) ** 2;
      r += x * x;
    });
  }
  return Math.sqrt(d / r);
}

/**
 * What two steps of tfjs' `optimizer` (at learning rate 0.01, dropout held) do to each weight of
 * `model` on `batch` of n 20×20×1 images: after − before, by tfjs variable name. The model is
 * left trained. Compared as updates, a weight that barely moved is not compared by its value.
 */
export async function tfjsUpdates(
  model: tf.LayersModel,
  batch: { xs: Float32Array; ys: Float32Array },
  n: number,
  optimizer: OptimizerName,
): Promise<Map<string, Float32Array>> {
  const before = weightsOf(model);
  const tfOptimizer = makeOptimizer(optimizer, 0.01);
  model.compile({ optimizer: tfOptimizer, loss: 'categoricalCrossentropy' });
  const x = tf.tensor4d(batch.xs, [n, 20, 20, 1]);
  const y = tf.tensor2d(batch.ys, [n, 10]);
  await withDropoutHeld(async () => {
    await model.trainOnBatch(x, y);
    await model.trainOnBatch(x, y);
  });
  tf.dispose([x, y]);
  tfOptimizer.dispose();
  return updates(weightsOf(model), before);
}

/** Every weight's values by tfjs variable name. */
export const weightsOf = (model: tf.LayersModel) =>
  new Map(model.weights.map((w) => [w.name, w.read().dataSync() as Float32Array]));

/** after − before, weight by weight. */
export const updates = (after: Map<string, Float32Array>, before: Map<string, Float32Array>) =>
  new Map([...after].map(([k, v]) => [k, v.map((x, i) => x - before.get(k)![i])]));
