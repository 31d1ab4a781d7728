import { tf } from '../../src/ml/tf';
import { ARCHITECTURES } from '../../src/ml/architectures/registry';
import { selectBackend } from '../../src/ml/backend';
import { dataParallelStepper, localStepper } from '../../src/ml/parallel/data-parallel';
import { trainModel } from '../../src/ml/train';
import { freshDatabase } from '../helpers/db';
import { SAMPLE_DIGITS } from '../helpers/fixtures';

const db = freshDatabase();
afterAll(() => db.cleanup());

function lenet() {
  const m = ARCHITECTURES.get('lenet5')!.build(tf, { inputShape: [28, 28, 1], numClasses: 10, seed: 4 });
  // Plain SGD: the update is linear in the gradient, so equal gradients give equal weights (Adam's
  // normalisation would magnify float rounding in near-zero gradients).
  m.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

function batch(n: number, seed: number) {
  const xs = Float32Array.from({ length: n * 784 }, (_, i) => ((i * 7919 + seed * 104729) % 1000) / 1000);
  const ys = new Float32Array(n * 10);
  for (let i = 0; i < n; i++) ys[i * 10 + ((i + seed) % 10)] = 1;
  return { xs, ys };
}

// Three replicas on these two cores as well: the averaged gradients go to the last worker by transfer
// and to the others as copies. Batches of 37 (uneven shares) and of 1 (fewer rows than replicas).
test.each([2, 3])('%i replicas take exactly the step one model takes on the whole batch', async (workers) => {
  await selectBackend('wasm');
  const single = lenet();
  const parallel = lenet();
  const before = tf.memory().numTensors;
  const a = localStepper(single);
  const b = await dataParallelStepper(parallel, {
    architecture: 'lenet5',
    seed: 4,
    optimizer: 'sgd',
    learningRate: 0.1,
    backend: 'wasm',
    workers,
  });
  try {
    for (const [step, n] of [37, 37, 1, 37].entries()) {
      const { xs, ys } = batch(n, step);
      const ra = await a.step(xs, ys, n);
      const rb = await b.step(xs, ys, n);
      expect(rb.loss).toBeCloseTo(ra.loss, 4);
      expect(rb.accuracy).toBeCloseTo(ra.accuracy, 6);
    }
    const wa = single.getWeights().map((w) => Array.from(w.dataSync()));
    const wb = parallel.getWeights().map((w) => Array.from(w.dataSync()));
    wa.forEach((w, k) =>
      w.forEach((v, i) => expect(Math.abs(wb[k][i] - v)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v)))),
    );
  } finally {
    await b.close();
  }
  expect(tf.memory().numTensors).toBe(before);
  for (const m of [single, parallel]) {
    m.optimizer.dispose();
    m.dispose();
  }
});

test('a momentum set step by step (onecycle) reaches every replica: 2 replicas step as one model does', async () => {
  await selectBackend('wasm');
  const make = () => {
    const m = ARCHITECTURES.get('lenet5')!.build(tf, { inputShape: [28, 28, 1], numClasses: 10, seed: 4 });
    // Momentum's update is linear in the gradient too.
    m.compile({ optimizer: tf.train.momentum(0.1, 0.9), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    return m;
  };
  const [single, parallel, uncycled] = [make(), make(), make()];
  const a = localStepper(single);
  const c = localStepper(uncycled);
  const b = await dataParallelStepper(parallel, {
    architecture: 'lenet5',
    seed: 4,
    optimizer: 'momentum',
    learningRate: 0.1,
    backend: 'wasm',
    workers: 2,
  });
  try {
    for (const [step, momentum] of [0.95, 0.85, 0.5, 0.93].entries()) {
      const { xs, ys } = batch(37, step);
      a.setMomentum(momentum);
      b.setMomentum(momentum);
      await a.step(xs, ys, 37);
      await b.step(xs, ys, 37);
      await c.step(xs, ys, 37);
    }
    const [wa, wb, wc] = [single, parallel, uncycled].map((m) => m.getWeights().map((w) => Array.from(w.dataSync())));
    wa.forEach((w, k) =>
      w.forEach((v, i) => expect(Math.abs(wb[k][i] - v)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v)))),
    );
    // The momentum took effect: the model left at 0.9 ends elsewhere.
    expect(wc.some((w, k) => w.some((v, i) => Math.abs(wa[k][i] - v) > 1e-4))).toBe(true);
  } finally {
    await b.close();
    for (const m of [single, parallel, uncycled]) {
      m.optimizer.dispose();
      m.dispose();
    }
  }
});

test('trainModel with --workers 2 learns, deterministically, records its workers; a bad count is refused', async () => {
  const m = db.mldb('digits');
  await m.insertFolder(SAMPLE_DIGITS, { create: true });
  const conn = await m.connection();
  const opts = {
    table: 'digits',
    model: 'simpler_cnn',
    epochs: 3,
    batchSize: 32,
    backend: 'wasm' as const,
    workers: 2,
  };
  const r = await trainModel(conn, opts);
  expect(r.workers).toBe(2);
  expect(r.epochs[2].loss).toBeLessThan(r.epochs[0].loss);
  expect(r.epochs[2].valAccuracy!).toBeGreaterThan(0.3);
  // Deterministic for a worker count: the same seed and workers give the same run, to the bit.
  const again = await trainModel(conn, opts);
  expect(again.epochs.map((e) => [e.loss, e.accuracy, e.valLoss, e.valAccuracy])).toEqual(
    r.epochs.map((e) => [e.loss, e.accuracy, e.valLoss, e.valAccuracy]),
  );
  for (const x of [r, again]) {
    x.model.optimizer.dispose();
    x.model.dispose();
  }
  await expect(trainModel(conn, { table: 'digits', model: 'lenet5', workers: 0 })).rejects.toThrow(
    /^workers must be at least 1, got 0$/,
  );
});

test('a worker that fails reports one clear error instead of hanging', async () => {
  await selectBackend('wasm');
  const model = lenet();
  const stepper = await dataParallelStepper(model, {
    architecture: 'lenet5',
    seed: 4,
    optimizer: 'sgd',
    learningRate: 0.1,
    backend: 'wasm',
    workers: 2,
  });
  try {
    const { xs, ys } = batch(8, 1);
    await stepper.step(xs, ys, 8);
    // Pixels for 4 samples but n = 8: the worker's share is empty and its tensor cannot be built.
    await expect(stepper.step(xs.slice(0, 4 * 784), ys, 8)).rejects.toThrow(/a training worker failed/);
  } finally {
    await stepper.close();
    model.optimizer.dispose();
    model.dispose();
  }
});
