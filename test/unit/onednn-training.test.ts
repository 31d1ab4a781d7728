import { ARCHITECTURES } from '../../src/ml/architectures/registry';
import { withDropoutHeld } from '../../src/ml/architectures/layers';
import { selectBackend } from '../../src/ml/backend';
import { loadOneDnn, type NativeNetwork, type OneDnnBinding } from '../../src/ml/onednn/binding';
import { oneDnnStepEngine } from '../../src/ml/engines/onednn-step-engine';
import { onnxStepEngine } from '../../src/ml/engines/onnx-step-engine';
import { planNetwork, type NetworkPlan } from '../../src/ml/onednn/plan';
import { loadOnnxRuntime } from '../../src/ml/onnxruntime';
import { OPTIMIZER_RULES } from '../../src/ml/onnx/optimizer-rules';
import { computeGradients } from '../../src/ml/parallel/replica';
import { tfjsBatchNorm } from '../../src/ml/precise-bn';
import { tf } from '../../src/ml/tf';
import { relativeDifference } from '../helpers/onnx-step';
import {
  build,
  overall,
  OVERALL_TOLERANCE,
  randomBatch,
  TIGHT,
  tfjsUpdates,
  UPDATE_TOLERANCE,
  updates,
  weightsOf,
  WEIGHT_TOLERANCE,
} from '../helpers/step-reference';

/**
 * mldb's oneDNN network (native/onednn) held to tfjs as the onnxruntime step is
 * (onnx-training.test.ts, whose tolerances and their reasons apply here unchanged): from the same
 * weights and batch, one step's loss and every weight's gradient for each architecture the addon
 * runs, at three image sizes and an odd batch; Adam's update over two steps where batch-norm does
 * not make the gradients rounding-sensitive; inference and the batch-norm statistics pass. The
 * addon is built by `npm run build` (oneDNN's headers: scripts/install-prerequisites.sh installs
 * them): where it is missing these tests fail, they are not skipped.
 */
/** Every registry architecture (the Xception models: separable convolutions and L2 penalties). */
const RUNS = [...ARCHITECTURES.keys()];
const SHAPES: Array<[number, number, number]> = [
  [20, 20, 1],
  [28, 28, 1],
  [32, 32, 3],
];

let binding: OneDnnBinding;

beforeAll(async () => {
  expect((await selectBackend('wasm')).name).toBe('wasm');
  const loaded = loadOneDnn();
  if ('unavailable' in loaded) throw new Error(loaded.unavailable);
  binding = loaded.binding;
});

function planOf(model: tf.LayersModel): NetworkPlan {
  const plan = planNetwork(model);
  if ('unsupported' in plan) throw new Error(plan.unsupported);
  return plan;
}

/** The network with the model's weights. */
function networkOf(plan: NetworkPlan): NativeNetwork {
  const net = new binding.Network(plan.input, plan.layers);
  for (const w of plan.weights) net.setWeight(w.layer, w.key, w.variable.read().dataSync() as Float32Array);
  return net;
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Adam's scalars of step `step`, as the engine passes them. */
function adam(step: number, lr: number) {
  const s = OPTIMIZER_RULES.adam.scalars(step, lr);
  return {
    beta1: Math.fround(0.9),
    oneMinusBeta1: Math.fround(1 - 0.9),
    oneMinusAccBeta1: s.oneMinusAccBeta1,
    oneMinusAccBeta2: s.oneMinusAccBeta2,
    negLr: Math.fround(s.negLr),
  };
}

/** Dropout held: every mask 1. */
const heldMasks = (plan: NetworkPlan, n: number) => plan.masks.map((m) => new Float32Array(n * m.size).fill(1));

async function gradientGap(
  name: string,
  inputShape: [number, number, number],
  n: number,
  plant?: (plan: NetworkPlan) => void,
) {
  const model = build(name, inputShape);
  try {
    const batch = randomBatch(inputShape, n);
    const plan = planOf(model);
    plant?.(plan);
    const net = networkOf(plan);
    const { loss } = await net.step(batch.xs, batch.ys, n, heldMasks(plan, n), adam(1, 0), false);
    const gradients = new Map<string, Float32Array>();
    for (const w of plan.weights) {
      if (!w.variable.trainable || w.key.startsWith('moving_')) continue;
      const values = new Float32Array(sizeOf(w.shape));
      net.getWeight(w.layer, `gradient:${w.key}`, values);
      gradients.set(w.variable.name, values);
    }
    const r = await withDropoutHeld(async () => computeGradients(model, batch.xs, batch.ys, n));
    const expected = new Map(model.trainableWeights.map((w, i) => [w.name, r.grads[i]]));
    return {
      loss: Math.abs(loss - r.loss) / r.loss,
      overall: overall(gradients, expected),
      ...relativeDifference(gradients, expected),
    };
  } finally {
    model.dispose();
  }
}

describe('the oneDNN network against tfjs', () => {
  test.each(RUNS.flatMap((name) => SHAPES.map((shape) => [name, shape] as const)))(
    '%s at %j: the loss and every weight’s gradient',
    async (name, shape) => {
      const gap = await gradientGap(name, shape, 16);
      expect(gap.loss).toBeLessThanOrEqual(1e-5);
      expect(gap.overall).toBeLessThanOrEqual(OVERALL_TOLERANCE);
      expect(gap.worst).toBeLessThanOrEqual(WEIGHT_TOLERANCE);
    },
  );

  test.each(RUNS)('%s at [21,21,1], a batch of 7', async (name) => {
    const gap = await gradientGap(name, [21, 21, 1], 7);
    expect(gap.loss).toBeLessThanOrEqual(1e-5);
    expect(gap.overall).toBeLessThanOrEqual(OVERALL_TOLERANCE);
  });

  test.each(TIGHT)('%s: the weights after two Adam steps, as tfjs’ Adam moves them', async (name) => {
    const model = build(name, [20, 20, 1]);
    try {
      const n = 10;
      const batch = randomBatch([20, 20, 1], n);
      const before = weightsOf(model);
      const plan = planOf(model);
      const net = networkOf(plan);
      for (const step of [1, 2]) await net.step(batch.xs, batch.ys, n, heldMasks(plan, n), adam(step, 0.01), false);
      const got = new Map<string, Float32Array>();
      for (const w of plan.weights) {
        const values = new Float32Array(sizeOf(w.shape));
        net.getWeight(w.layer, w.key, values);
        got.set(w.variable.name, values);
      }
      const expected = await tfjsUpdates(model, batch, n, 'adam');
      expect(relativeDifference(updates(got, before), expected).worst).toBeLessThanOrEqual(UPDATE_TOLERANCE);
    } finally {
      model.dispose();
    }
  });

  test.each(RUNS)('%s: inference and the batch-norm statistics pass', async (name) => {
    const shape: [number, number, number] = [28, 28, 1];
    const model = build(name, shape);
    try {
      // Moving statistics away from 0 and 1, so that inference has to read them.
      for (const w of model.weights)
        if (/moving_(mean|variance)$/.test(w.originalName))
          w.write(tf.randomUniform(w.shape, 0.5, 1.5, 'float32', 3) as tf.Tensor);
      const n = 9;
      const batch = randomBatch(shape, n);
      const net = networkOf(planOf(model));
      const got = await net.predict(batch.xs, n);
      const expected = tf.tidy(() => (model.predict(tf.tensor4d(batch.xs, [n, ...shape])) as tf.Tensor).dataSync());
      const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0);
      expect(worst).toBeLessThanOrEqual(1e-5);

      const moments = await net.moments(batch.xs, n);
      const target = tfjsBatchNorm(model);
      expect(moments).toHaveLength(target.layers);
      if (target.layers === 0) return;
      const reference = await target.moments(batch.xs, n);
      moments.forEach((m, k) => {
        const scale = Math.max(...reference[k].variance);
        m.mean.forEach((v, c) => expect(Math.abs(v - reference[k].mean[c])).toBeLessThanOrEqual(1e-4 * (1 + scale)));
        m.variance.forEach((v, c) => expect(Math.abs(v - reference[k].variance[c])).toBeLessThanOrEqual(1e-4 * scale));
      });
    } finally {
      model.dispose();
    }
  });
});

/** A small network with a dropout right after a Flatten (none in the registry has one). */
function flattenThenDropout(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [20, 20, 1], filters: 8, kernelSize: 3, activation: 'relu', seed: 1 }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dropout({ rate: 0.5, seed: 5 }));
  model.add(
    tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: 'glorotUniform', seed: 2 } as never),
  );
  return model;
}

/** Three steps of each engine from the same model and batches, each drawing its own (seeded) dropout masks. */
async function engineLosses(make: () => tf.LayersModel, plant?: (plan: NetworkPlan) => void): Promise<number[][]> {
  const models = [make(), make()];
  models[1].setWeights(models[0].getWeights());
  try {
    const loaded = loadOnnxRuntime();
    if (!('ort' in loaded)) throw new Error(loaded.unavailable);
    const plan = planOf(models[1]);
    plant?.(plan);
    const engines = [
      await onnxStepEngine(loaded.ort, models[0], { optimizer: 'adam', learningRate: 1e-3, batchSize: 16 }),
      oneDnnStepEngine(binding, plan, { learningRate: 1e-3 }),
    ];
    const losses: number[][] = [[], []];
    const shape = models[0].inputs[0].shape.slice(1) as [number, number, number];
    const { xs, ys } = randomBatch(shape, 48);
    const per = sizeOf(shape);
    for (let step = 0; step < 3; step++) {
      const rows = [step * 16, (step + 1) * 16];
      const batch = [xs.subarray(rows[0] * per, rows[1] * per), ys.subarray(rows[0] * 10, rows[1] * 10)];
      for (const [k, engine] of engines.entries()) losses[k].push((await engine.step(batch[0], batch[1], 16)).loss);
    }
    await Promise.all(engines.map((e) => e.close()));
    return losses;
  } finally {
    models.forEach((m) => m.dispose());
  }
}

const kerasMnist = () => build('keras_mnist_cnn', [20, 20, 1]);

describe('the oneDNN engine', () => {
  test.each([
    ['keras_mnist_cnn (masks over NCHW maps and dense vectors)', kerasMnist],
    ['a dropout right after a Flatten (its mask over the NHWC vector)', flattenThenDropout],
  ])('draws the dropout masks onnxruntime’s step draws: %s', async (_name, make) => {
    const [onnx, onednn] = await engineLosses(make);
    onednn.forEach((loss, k) => expect(Math.abs(loss - onnx[k]) / onnx[k]).toBeLessThanOrEqual(1e-5));
  });

  test('close frees the network at once: a step after it is refused, not run on freed tensors', async () => {
    const model = build('lenet5', [20, 20, 1]);
    try {
      const engine = oneDnnStepEngine(binding, planOf(model), { learningRate: 1e-3 });
      const batch = randomBatch([20, 20, 1], 4);
      expect(Number.isFinite((await engine.step(batch.xs, batch.ys, 4)).loss)).toBe(true);
      await engine.close();
      await expect(engine.step(batch.xs, batch.ys, 4)).rejects.toThrow(/the network was released/);
      expect(() => engine.syncModel()).toThrow(/the network was released/);
    } finally {
      model.dispose();
    }
  });
});

describe('a wrong network is caught', () => {
  test.each([
    ['a mask over a map read as NHWC (keras_mnist_cnn)', kerasMnist],
    ['a mask after a Flatten read as NCHW', flattenThenDropout],
  ])('a dropout mask in the wrong layout: %s', async (_name, make) => {
    const [onnx, onednn] = await engineLosses(make, (plan) => {
      const dropout = plan.layers.find((l) => l.kind === 'dropout' && plan.layers.indexOf(l) > 0)!;
      dropout.flatMask = !dropout.flatMask;
    });
    expect(Math.abs(onednn[0] - onnx[0]) / onnx[0]).toBeGreaterThan(1e-4);
  });

  test('a convolution padded on one side only (simpler_cnn)', async () => {
    const gap = await gradientGap('simpler_cnn', [20, 20, 1], 16, (plan) => {
      const conv = plan.layers.find((l) => l.kind === 'conv' && (l.padTop ?? 0) > 0)!;
      conv.padBottom = conv.padBottom! + conv.padTop!;
      conv.padTop = 0;
    });
    expect(gap.loss).toBeGreaterThan(1e-3);
  });

  test.each([
    ['a dilated convolution', { dilationRate: 2 }, 'a dilated convolution'],
    ['an L1 penalty', { kernelRegularizer: tf.regularizers.l1({ l1: 0.01 }) }, 'an L1 penalty'],
    ['a tanh', { activation: 'tanh' }, 'activation tanh'],
  ])('a model the addon cannot run is named with the reason: %s', (_name, options, reason) => {
    const model = tf.sequential();
    model.add(tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, name: 'c', ...options } as never));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
    try {
      expect(planNetwork(model)).toEqual({ unsupported: `c: ${reason}` });
    } finally {
      model.dispose();
    }
  });
});
