import { withDropoutHeld } from '../../src/ml/architectures/layers';
import { ARCHITECTURES } from '../../src/ml/architectures/registry';
import { selectBackend } from '../../src/ml/backend';
import { batchTargets } from '../../src/ml/class-weights';
import { computeGradients } from '../../src/ml/parallel/replica';
import { tf } from '../../src/ml/tf';
import { onnxSteps, relativeDifference } from '../helpers/onnx-step';

/**
 * Label smoothing and class weights reach both engines as targets other than one-hot rows
 * (class-weights.ts). tfjs differentiates Keras' cross-entropy of any targets; the ONNX step's
 * loss gradient for them is held to it here: the loss and every weight's gradient for smoothed
 * and weighted targets, within onnx-training.test.ts's bounds for architectures without
 * batch-norm sensitivity — and the one-hot shortcut, given the same targets, is caught.
 */
const SHAPE: [number, number, number] = [20, 20, 1];
const N = 12;

beforeAll(async () => {
  expect((await selectBackend('wasm')).name).toBe('wasm');
});

function batch() {
  let s = 11;
  const random = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const xs = Float32Array.from({ length: N * 400 }, random);
  const classes = Array.from({ length: N }, (_, i) => i % 10);
  const weights = Float64Array.from({ length: 10 }, (_, c) => (c === 3 ? 9 : 0.5 + c / 10));
  return { xs, ys: batchTargets(classes, 10, 0.1, weights) };
}

async function gap(softTargets: boolean) {
  const model = ARCHITECTURES.get('lenet5')!.build(tf, { inputShape: SHAPE, numClasses: 10, seed: 4 });
  try {
    const b = batch();
    const got = await onnxSteps(model, b, N, { softTargets });
    const r = await withDropoutHeld(async () => computeGradients(model, b.xs, b.ys, N));
    const expected = new Map(model.trainableWeights.map((w, i) => [w.name, r.grads[i]]));
    return { loss: Math.abs(got.loss - r.loss) / r.loss, ...relativeDifference(got.gradients, expected) };
  } finally {
    model.dispose();
  }
}

test('smoothed, weighted targets: the loss and every gradient as tfjs', async () => {
  const g = await gap(true);
  expect(g.loss).toBeLessThanOrEqual(1e-5);
  expect(g.worst).toBeLessThanOrEqual(1e-3);
});

test('the one-hot shortcut given the same targets is caught', async () => {
  expect((await gap(false)).worst).toBeGreaterThan(1e-2);
});

test('targets: 1 − ε + ε/k on the true class, ε/k elsewhere, times the class weight', () => {
  const ys = batchTargets([1, 0], 4, 0.2, Float64Array.of(2, 1, 1, 1));
  expect(Array.from(ys)).toEqual(Array.from(Float32Array.of(0.05, 0.85, 0.05, 0.05, 0.85 * 2, 0.1, 0.1, 0.1)));
  expect(Array.from(batchTargets([2], 3, 0, null))).toEqual([0, 0, 1]);
});
