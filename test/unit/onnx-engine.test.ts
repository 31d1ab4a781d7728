import * as ort from 'onnxruntime-node';
import { ARCHITECTURES } from '../../src/ml/architectures/registry';
import { selectBackend } from '../../src/ml/backend';
import { onnxStepEngine } from '../../src/ml/engines/onnx-step-engine';
import { statisticsGraph } from '../../src/ml/onnx/forward-graphs';
import { recomputeBatchNormStatistics, tfjsBatchNorm } from '../../src/ml/precise-bn';
import { tf } from '../../src/ml/tf';
import { MemorySource } from '../../src/samples/sample-source';

/**
 * The onnxruntime engine around the step graph: the weights it hands back to the tfjs model,
 * inference and batch-norm statistics from the same walk, its dropout masks, and learning-rate
 * changes without a new session.
 */
const SHAPE = { height: 20, width: 20, channels: 1 as const };
const N = 40;

function pixels(seed: number): Uint8Array {
  let s = seed;
  return Uint8Array.from({ length: N * 400 }, () => (s = (s * 16807) % 2147483647) % 256);
}

function source(): MemorySource {
  const ids = Array.from({ length: N }, (_, i) => i + 1);
  return new MemorySource(
    {
      pixels: pixels(3),
      ids,
      labels: ids.map((i) => String(i % 10)),
      hashes: ids.map(() => Buffer.alloc(32)),
      count: N,
    },
    SHAPE,
  );
}

function batch(n: number) {
  const xs = Float32Array.from(pixels(5).subarray(0, n * 400), (v) => v / 255);
  const ys = new Float32Array(n * 10);
  for (let i = 0; i < n; i++) ys[i * 10 + (i % 10)] = 1;
  return { xs, ys };
}

const build = (name = 'simple_cnn') =>
  ARCHITECTURES.get(name)!.build(tf, { inputShape: [20, 20, 1], numClasses: 10, seed: 2 });

// tfjs holds the model on its cpu backend while onnxruntime trains, as selectTrainingBackend sets
// it up: that backend keeps the arrays tensors are made of, so a buffer shared by mistake shows.
beforeAll(async () => {
  expect((await selectBackend('cpu')).name).toBe('cpu');
});

test('precise batch-norm statistics and inference on onnxruntime equal tfjs’s for the same weights', async () => {
  const reference = build();
  const model = build();
  const engine = await onnxStepEngine(ort, model, { optimizer: 'adam', learningRate: 0.001 });
  try {
    const positions = Array.from({ length: N }, (_, i) => i);
    expect(await recomputeBatchNormStatistics(engine.batchNorm, source(), positions, 16)).toEqual({
      layers: 9,
      samples: N,
    });
    await recomputeBatchNormStatistics(tfjsBatchNorm(reference), source(), positions, 16);
    engine.syncModel();
    const moving = (m: tf.LayersModel) =>
      m.weights.filter((w) => w.originalName.includes('moving')).flatMap((w) => Array.from(w.read().dataSync()));
    const [got, expected] = [moving(model), moving(reference)];
    const scale = Math.max(...expected.map(Math.abs));
    expect(Math.max(...got.map((v, i) => Math.abs(v - expected[i])))).toBeLessThanOrEqual(1e-4 * scale);
    // Not the initial 0 and 1: the statistics were written.
    expect(got.some((v) => v !== 0 && v !== 1)).toBe(true);
    const { xs } = batch(8);
    const probabilities = await engine.predict(xs, 8);
    const tfjs = tf.tidy(() => (reference.predict(tf.tensor4d(xs, [8, 20, 20, 1])) as tf.Tensor).dataSync());
    expect(Math.max(...probabilities.map((p, i) => Math.abs(p - tfjs[i])))).toBeLessThanOrEqual(1e-4);
  } finally {
    await engine.close();
    reference.dispose();
    model.dispose();
  }
});

test('the model gets the weights back; one seed, one sequence of dropout masks; no tensor leaks', async () => {
  const before = tf.memory().numTensors;
  const run = async () => {
    const model = build('keras_mnist_cnn'); // dropout 0.25 and 0.5
    const initial = model.getWeights().map((w) => w.dataSync().slice());
    const engine = await onnxStepEngine(ort, model, { optimizer: 'adam', learningRate: 0.001 });
    const { xs, ys } = batch(16);
    const losses = [];
    for (let i = 0; i < 3; i++) losses.push((await engine.step(xs, ys, 16)).loss);
    // A last, smaller batch.
    losses.push((await engine.step(xs.subarray(0, 5 * 400), ys.subarray(0, 50), 5)).loss);
    const untouched = model.getWeights().every((w, i) => w.dataSync().every((v, k) => v === initial[i][k]));
    engine.syncModel();
    const moved = model.getWeights().map((w, i) => w.dataSync().some((v, k) => v !== initial[i][k]));
    await engine.close();
    model.dispose();
    return { losses, untouched, moved };
  };
  const a = await run();
  const b = await run();
  expect(a.untouched).toBe(true); // the model receives the weights only when asked
  expect(a.moved.every(Boolean)).toBe(true);
  expect(a.losses).toEqual(b.losses);
  expect(a.losses.every(Number.isFinite)).toBe(true);
  // The same batch, weights moving and fresh masks each step: the losses differ.
  expect(new Set(a.losses).size).toBe(a.losses.length);
  expect(tf.memory().numTensors).toBe(before);
});

test('a learning rate of 0 from the next step on leaves the weights where they are (no new session)', async () => {
  const model = build('lenet5');
  const engine = await onnxStepEngine(ort, model, { optimizer: 'sgd', learningRate: 0.1 });
  try {
    const { xs, ys } = batch(16);
    await engine.step(xs, ys, 16);
    engine.syncModel();
    const after1 = model.getWeights().map((w) => w.dataSync().slice());
    engine.setLearningRate(0);
    await engine.step(xs, ys, 16);
    engine.syncModel();
    expect(model.getWeights().every((w, i) => w.dataSync().every((v, k) => v === after1[i][k]))).toBe(true);
    engine.setLearningRate(0.1);
    await engine.step(xs, ys, 16);
    engine.syncModel();
    expect(model.getWeights().some((w, i) => w.dataSync().some((v, k) => v !== after1[i][k]))).toBe(true);
  } finally {
    await engine.close();
    model.dispose();
  }
});

test('a step built for the run’s batch size (depthwise gradients by image plane) trains as the others do', async () => {
  // tiny_xception's separable layers take the fixed-batch path; batches of 32 (fixed), 16 (aligned,
  // another size) and 5 (unaligned) run the three kinds of session, against an engine that has no
  // fixed batch. A wrong gradient on one path moves the weights apart: later losses and the
  // predictions differ.
  const models = [build('tiny_xception'), build('tiny_xception')];
  const fixed = await onnxStepEngine(ort, models[0], { optimizer: 'adam', learningRate: 0.01, batchSize: 32 });
  const general = await onnxStepEngine(ort, models[1], { optimizer: 'adam', learningRate: 0.01 });
  try {
    for (const n of [32, 16, 5, 32, 32]) {
      const { xs, ys } = batch(n);
      const [a, b] = [await fixed.step(xs, ys, n), await general.step(xs, ys, n)];
      expect(Math.abs(a.loss - b.loss)).toBeLessThanOrEqual(1e-4 * b.loss);
    }
    const { xs } = batch(16);
    const [pa, pb] = [await fixed.predict(xs, 16), await general.predict(xs, 16)];
    expect(Math.max(...pa.map((v, i) => Math.abs(v - pb[i])))).toBeLessThanOrEqual(1e-4);
  } finally {
    await fixed.close();
    await general.close();
    models.forEach((m) => m.dispose());
  }
});

test('a statistics pass leaves the moving statistics as they were until they are written', async () => {
  const model = build();
  const engine = await onnxStepEngine(ort, model, { optimizer: 'adam', learningRate: 0.001 });
  try {
    const { xs, ys } = batch(16);
    await engine.step(xs, ys, 16);
    engine.syncModel();
    const moving = () =>
      model.weights.filter((w) => w.originalName.includes('moving')).flatMap((w) => Array.from(w.read().dataSync()));
    const before = moving();
    const moments = await engine.batchNorm.moments(xs, 16);
    expect(moments).toHaveLength(9);
    engine.syncModel();
    expect(moving()).toEqual(before);
  } finally {
    await engine.close();
    model.dispose();
  }
});

test('the statistics graph leaves every tensor fed to it as it was, at any optimisation level', async () => {
  // onnxruntime's batch-norm kernel in training mode writes its running outputs into the buffers of
  // its running inputs (with the optimiser off, into the very tensors fed to it).
  const model = build();
  try {
    const graph = statisticsGraph(model);
    const feeds: Record<string, ort.Tensor> = {
      image: new ort.Tensor('float32', batch(8).xs, [8, 20, 20, 1]),
    };
    for (const w of graph.weights) {
      const values = w.layout.toOnnx(w.variable.read().dataSync() as Float32Array, w.tfShape);
      feeds[w.name] = new ort.Tensor('float32', values, w.onnxDims);
    }
    const before = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, Array.from(t.data as Float32Array)]));
    for (const level of ['disabled', 'all'] as const) {
      const session = await ort.InferenceSession.create(graph.bytes, { graphOptimizationLevel: level });
      await session.run(feeds);
      await session.release();
      for (const [name, t] of Object.entries(feeds))
        expect([level, name, Array.from(t.data as Float32Array)]).toEqual([level, name, before[name]]);
    }
  } finally {
    model.dispose();
  }
});
