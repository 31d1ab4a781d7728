import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../../src/ml/tf';
import { ARCHITECTURES } from '../../src/ml/architectures/registry';
import { selectBackend } from '../../src/ml/backend';
import { trainModel } from '../../src/ml/train';
import { loadModel, saveModel } from '../../src/ml/artifacts';
import { freshDatabase } from '../helpers/db';
import { makeLabeledFolder, SAMPLE_DIGITS, tempDir } from '../helpers/fixtures';

const db = freshDatabase();
afterAll(() => db.cleanup());

function disposeModel(m: tf.LayersModel) {
  m.optimizer?.dispose();
  m.dispose();
}

describe('architectures', () => {
  beforeAll(async () => {
    expect((await selectBackend('wasm')).name).toBe('wasm');
  });

  test.each(
    [...ARCHITECTURES.keys()].flatMap(
      (name) =>
        [
          [name, [20, 20, 1]],
          [name, [28, 28, 1]],
          [name, [32, 32, 3]],
        ] as Array<[string, [number, number, number]]>,
    ),
  )(
    '%s builds, has the right output shape and trains one step at %j without leaking tensors',
    async (name, inputShape) => {
      const before = tf.memory().numTensors;
      const model = ARCHITECTURES.get(name)!.build(tf, { inputShape, numClasses: 10, seed: 3 });
      expect(model.outputs[0].shape).toEqual([null, 10]);
      model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      const x = tf.randomUniform([4, ...inputShape]);
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 10));
      const [loss] = (await model.trainOnBatch(x, y)) as number[];
      expect(Number.isFinite(loss)).toBe(true);
      x.dispose();
      y.dispose();
      disposeModel(model);
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});

describe('architectures on the pure-JS cpu backend', () => {
  beforeAll(async () => {
    expect((await selectBackend('cpu')).name).toBe('cpu');
  });
  afterAll(async () => {
    await selectBackend('wasm');
  });

  test.each([...ARCHITECTURES.keys()])('%s trains one step on cpu at 20×20×1', async (name) => {
    const model = ARCHITECTURES.get(name)!.build(tf, { inputShape: [20, 20, 1], numClasses: 10, seed: 3 });
    model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy' });
    const x = tf.randomUniform([2, 20, 20, 1]);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1], 'int32'), 10));
    const before = model.getWeights().map((w) => w.dataSync()[0]);
    const loss = (await model.trainOnBatch(x, y)) as number;
    expect(Number.isFinite(loss)).toBe(true);
    expect(model.getWeights().map((w) => w.dataSync()[0])).not.toEqual(before);
    tf.dispose([x, y]);
    disposeModel(model);
  });
});

describe('trainModel', () => {
  beforeAll(async () => {
    await db.mldb('digits').insertFolder(SAMPLE_DIGITS, { create: true });
  });

  test('learns the sample digits on wasm, deterministically for a seed, without leaking tensors', async () => {
    const conn = await db.mldb().connection();
    const opts = { table: 'digits', model: 'lenet5', epochs: 4, batchSize: 32, seed: 5, backend: 'wasm' as const };
    const before = tf.memory().numTensors;
    const a = await trainModel(conn, opts);
    const b = await trainModel(conn, opts);
    expect(a.backend).toBe('wasm');
    expect(a.epochs).toHaveLength(4);
    expect(a.stopReason).toBe('completed');
    expect(a.streaming).toBe(false);
    expect(a.epochs.map((e) => [e.loss, e.valLoss])).toEqual(b.epochs.map((e) => [e.loss, e.valLoss]));
    expect(a.fingerprint).toEqual(b.fingerprint);
    expect(a.labels).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    // 600 MNIST digits, 10 classes: chance is 0.1; four epochs of LeNet-5 get far above it.
    expect(a.epochs[3].valAccuracy!).toBeGreaterThan(0.5);
    expect(a.epochs[3].loss).toBeLessThan(a.epochs[0].loss);
    // The test split is never trained on: train + validation = the train split.
    const [{ n }] = await conn.query<{ n: number }>("SELECT COUNT(*) AS n FROM digits WHERE split = 'train'");
    expect(a.split.train + a.split.validation).toBe(Number(n));
    expect(a.fingerprint.rows).toBe(Number(n));
    disposeModel(a.model);
    disposeModel(b.model);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('precise batch-norm: the same weights, evaluated with population statistics, not moving averages', async () => {
    const conn = await db.mldb().connection();
    const opts = { table: 'digits', model: 'simple_cnn', epochs: 2, seed: 1, backend: 'wasm' as const };
    const before = tf.memory().numTensors;
    const precise = await trainModel(conn, opts);
    const moving = await trainModel(conn, { ...opts, preciseBn: false });
    // Batch-norm trains on batch statistics: the moving ones never reach the weights.
    expect(precise.epochs.map((e) => e.loss)).toEqual(moving.epochs.map((e) => e.loss));
    expect(precise.hyperparameters).toMatchObject({ preciseBn: true, bnSamples: 2048 });
    expect(precise.preciseBn).toEqual({ layers: 9, samples: precise.split.train });
    expect(moving.preciseBn).toBeNull();
    // After 16 updates the moving averages (momentum 0.99) are 15% of the way: validation at chance.
    expect(moving.epochs[1].valAccuracy!).toBeLessThan(0.25);
    expect(precise.epochs[1].valAccuracy!).toBeGreaterThan(moving.epochs[1].valAccuracy! + 0.25);
    disposeModel(precise.model);
    disposeModel(moving.model);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('a different seed gives a different hold-out and different metrics', async () => {
    const conn = await db.mldb().connection();
    const a = await trainModel(conn, { table: 'digits', model: 'lenet5', epochs: 1, seed: 1, backend: 'wasm' });
    const b = await trainModel(conn, { table: 'digits', model: 'lenet5', epochs: 1, seed: 2, backend: 'wasm' });
    expect(a.epochs[0].loss).not.toBe(b.epochs[0].loss);
    disposeModel(a.model);
    disposeModel(b.model);
  });

  test('a memory budget below the data streams it in bounded chunks, with the same batches and metrics', async () => {
    const conn = await db.mldb().connection();
    const opts = { table: 'digits', model: 'lenet5', epochs: 2, batchSize: 16, seed: 9, backend: 'wasm' as const };
    const whole = await trainModel(conn, opts);
    const before = tf.memory().numTensors;
    const plans: Array<{ streaming: boolean; chunkRows: number }> = [];
    // 28×28 floats are 3,136 bytes a row: 100 KB holds 32 rows, so reads are of 16.
    const streamed = await trainModel(conn, { ...opts, memoryBudget: 100_000, onData: (d) => plans.push(d) });
    expect(plans[0].streaming).toBe(true);
    expect(plans[0].chunkRows).toBeLessThanOrEqual(16);
    expect(streamed.streaming).toBe(true);
    expect(streamed.epochs.map((e) => [e.loss, e.accuracy, e.valLoss])).toEqual(
      whole.epochs.map((e) => [e.loss, e.accuracy, e.valLoss]),
    );
    expect(streamed.fingerprint).toEqual(whole.fingerprint);
    disposeModel(streamed.model);
    expect(tf.memory().numTensors).toBe(before);
    disposeModel(whole.model);
  });

  test('reports progress within epochs and stops between batches when asked', async () => {
    const conn = await db.mldb().connection();
    const seen: number[] = [];
    let etas = 0;
    const r = await trainModel(conn, {
      table: 'digits',
      model: 'lenet5',
      epochs: 5,
      batchSize: 50,
      backend: 'wasm',
      onBatch: (p) => {
        seen.push(p.done);
        if (p.etaSeconds > 0 && Number.isFinite(p.etaSeconds)) etas++;
      },
      shouldStop: () => seen.length >= 15,
    });
    expect(seen.slice(0, 3)).toEqual([50, 100, 150]);
    expect(etas).toBeGreaterThan(0);
    expect(r.stopReason).toBe('interrupted');
    // 489 training rows are 10 batches of 50: batch 15 falls in epoch 2, which is not recorded.
    expect(r.epochs).toHaveLength(1);
    disposeModel(r.model);
  });

  test('reduce-on-plateau lowers the rate after P epochs without a better val_loss, and training follows', async () => {
    const conn = await db.mldb().connection();
    const opts = { table: 'digits', model: 'lenet5', epochs: 8, batchSize: 32, seed: 4, backend: 'wasm' as const };
    // A large rate for this model on 489 rows: val_loss soon stops improving.
    const plain = await trainModel(conn, { ...opts, learningRate: 0.01 });
    const reduced = await trainModel(conn, { ...opts, learningRate: 0.01, reduceLrPatience: 1, reduceLrFactor: 0.5 });
    // The schedule Keras' ReduceLROnPlateau (min_delta 1e-4, cooldown 0) gives for these val_losses.
    let rate = 0.01;
    let best = Infinity;
    let wait = 0;
    const expected: number[] = [];
    for (const e of reduced.epochs) {
      expected.push(rate);
      if (e.valLoss! < best - 1e-4) [best, wait] = [e.valLoss!, 0];
      else if (++wait >= 1) [rate, wait] = [Number((rate * 0.5).toPrecision(12)), 0];
    }
    expect(reduced.epochs.map((e) => e.learningRate)).toEqual(expected);
    expect(plain.epochs.every((e) => e.learningRate === 0.01)).toBe(true);
    const first = expected.findIndex((r) => r < 0.01);
    expect(first).toBeGreaterThan(0); // it did reduce, within these epochs
    // Identical until the rate changes, different after: the optimizer took the new rate.
    expect(reduced.epochs.slice(0, first).map((e) => e.loss)).toEqual(plain.epochs.slice(0, first).map((e) => e.loss));
    expect(reduced.epochs[first].loss).not.toBe(plain.epochs[first].loss);
    disposeModel(plain.model);
    disposeModel(reduced.model);
  });

  test('augmentation: seeded (a run twice is identical), changes training, recorded with its ranges', async () => {
    const conn = await db.mldb().connection();
    const opts = { table: 'digits', model: 'lenet5', epochs: 2, batchSize: 32, seed: 4, backend: 'wasm' as const };
    const plain = await trainModel(conn, opts);
    const a = await trainModel(conn, { ...opts, augment: true });
    const b = await trainModel(conn, { ...opts, augment: true });
    const zoomOnly = await trainModel(conn, { ...opts, augmentZoom: 0.2 });
    expect(a.epochs.map((e) => [e.loss, e.valLoss])).toEqual(b.epochs.map((e) => [e.loss, e.valLoss]));
    expect(a.epochs[0].loss).not.toBe(plain.epochs[0].loss);
    expect(a.hyperparameters).toMatchObject({
      augment: true,
      augmentRotation: 10,
      augmentWidthShift: 0.1,
      augmentHeightShift: 0.1,
      augmentZoom: 0.1,
      augmentFlip: false,
    });
    expect(plain.hyperparameters).toMatchObject({ augment: false });
    // One range given asks for augmentation, with the other ranges at their defaults.
    expect(zoomOnly.hyperparameters).toMatchObject({ augment: true, augmentZoom: 0.2, augmentRotation: 10 });
    expect(zoomOnly.epochs[0].loss).not.toBe(a.epochs[0].loss);
    for (const r of [plain, a, b, zoomOnly]) disposeModel(r.model);
  });

  test('restore-best keeps the weights of the epoch with the best val_loss', async () => {
    const conn = await db.mldb().connection();
    const opts = { table: 'digits', model: 'lenet5', epochs: 8, batchSize: 32, seed: 4, backend: 'wasm' as const };
    const r = await trainModel(conn, { ...opts, learningRate: 0.01, restoreBest: true });
    const losses = r.epochs.map((e) => e.valLoss!);
    const bestEpoch = losses.indexOf(Math.min(...losses)) + 1;
    expect(bestEpoch).toBeLessThan(r.epochs.length); // the last epoch is not the best here
    expect(r.restoredEpoch).toBe(bestEpoch);
    expect(r.hyperparameters).toMatchObject({ restoreBest: true, reduceLrPatience: 0 });
    // The returned model is that epoch's: its validation loss is the one recorded then.
    const again = await trainModel(conn, { ...opts, learningRate: 0.01, epochs: bestEpoch });
    const weights = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
    expect(weights(r.model)).toEqual(weights(again.model));
    disposeModel(r.model);
    disposeModel(again.model);
  });

  test('rows imported into the validation split validate instead of a hold-out', async () => {
    const dir = makeLabeledFolder({ a: 30, b: 30 }, 10);
    const m = db.mldb('with_val');
    await m.insertFolder(dir, { create: true, testFraction: 0.1, validationFraction: 0.3 });
    const counts = await (
      await m.connection()
    ).query<{ split: string; n: number }>('SELECT split, COUNT(*) AS n FROM with_val GROUP BY split');
    const n = Object.fromEntries(counts.map((c) => [c.split, Number(c.n)]));
    const r = await trainModel(await m.connection(), {
      table: 'with_val',
      model: 'lenet5',
      epochs: 1,
      batchSize: 8,
      backend: 'wasm',
    });
    expect(r.split).toEqual({ train: n.train, validation: n.validation, validationFrom: 'split' });
    disposeModel(r.model);
  });

  test('saved models load with stock tf.loadLayersModel and predict the same', async () => {
    const conn = await db.mldb().connection();
    const r = await trainModel(conn, { table: 'digits', model: 'simpler_cnn', epochs: 1, backend: 'wasm' });
    const out = tempDir();
    await saveModel(r.model, out, { labels: r.labels });
    expect(fs.readdirSync(out).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);
    // A separate Node process, as any user of tfjs would: stock loader over HTTP, no mldb code.
    const script = `
      const tf = require('@tensorflow/tfjs');
      const http = require('http'), fs = require('fs'), path = require('path');
      const serve = (q, s) => s.end(fs.readFileSync(path.join(process.argv[1], path.basename(q.url))));
      const server = http.createServer(serve);
      server.listen(0, '127.0.0.1', async () => {
        const m = await tf.loadLayersModel('http://127.0.0.1:' + server.address().port + '/model.json');
        const x = tf.tensor4d(Array.from({ length: 2 * 784 }, (_, i) => (i % 97) / 97), [2, 28, 28, 1]);
        process.stdout.write(JSON.stringify(Array.from(m.predict(x).dataSync())));
        server.close();
      });`;
    const child = spawnSync(process.execPath, ['-e', script, out], {
      cwd: path.resolve(__dirname, '..', '..'),
      encoding: 'utf8',
    });
    expect(child.status).toBe(0);
    const stock: number[] = JSON.parse(child.stdout);
    const ours = await loadModel(out);
    const x = tf.tensor4d(
      Array.from({ length: 2 * 784 }, (_, i) => (i % 97) / 97),
      [2, 28, 28, 1],
    );
    const [p0, p2] = tf.tidy(() => [r.model, ours].map((m) => Array.from((m.predict(x) as tf.Tensor).dataSync())));
    expect(p2).toEqual(p0);
    // The child runs the cpu backend: equal up to float rounding.
    stock.forEach((v, i) => expect(v).toBeCloseTo(p0[i], 4));
    x.dispose();
    ours.dispose();
    disposeModel(r.model);
  });

  test('bad input: unknown model, one class, empty table, too few rows, batch size 0 or above the rows', async () => {
    const conn = await db.mldb().connection();
    await expect(trainModel(conn, { table: 'digits', model: 'nope' })).rejects.toMatchObject({
      message: 'unknown model "nope"',
      hint: expect.stringMatching(/simple_cnn/),
    });
    const one = makeLabeledFolder({ only: 10 }, 12);
    await db.mldb('one_class').insertFolder(one, { create: true });
    await expect(trainModel(conn, { table: 'one_class', model: 'lenet5' })).rejects.toThrow(/at least 2/);
    await db.mldb().createTable('nothing_yet');
    await expect(trainModel(conn, { table: 'nothing_yet', model: 'lenet5' })).rejects.toMatchObject({ exitCode: 5 });
    await db.mldb('few').insertFolder(makeLabeledFolder({ a: 2, b: 2 }, 8), { create: true, testFraction: 0 });
    await expect(trainModel(conn, { table: 'few', model: 'lenet5', validationSplit: 0.1 })).rejects.toMatchObject({
      message: expect.stringMatching(/too few/),
      hint: expect.stringMatching(/--validation-split/),
    });
    await expect(trainModel(conn, { table: 'digits', model: 'lenet5', batchSize: 0 })).rejects.toMatchObject({
      exitCode: 2,
      field: 'batchSize',
      message: 'batchSize must be at least 1, got 0',
    });
    await expect(trainModel(conn, { table: 'digits', model: 'lenet5', batchSize: 100000 })).rejects.toThrow(
      /larger than/,
    );
    await expect(trainModel(conn, { table: 'no_such_table', model: 'lenet5' })).rejects.toMatchObject({
      exitCode: 4,
    });
  });
});
