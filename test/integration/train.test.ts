import { tf } from '../../src/ml/tf';
import { ARCHITECTURES } from '../../src/ml/architectures/registry';
import { selectBackend } from '../../src/ml/backend';
import { trainModel } from '../../src/ml/train';
import { loadModel, saveModel } from '../../src/ml/artifacts';
import { freshDatabase } from '../helpers/db';
import { makeLabeledFolder, tempDir } from '../helpers/fixtures';

const db = freshDatabase();
afterAll(() => db.cleanup());

describe('architectures', () => {
  beforeAll(async () => {
    expect((await selectBackend('wasm')).name).toBe('wasm');
  });

  test.each([...ARCHITECTURES.keys()].flatMap((name) => [[name, [20, 20, 1]], [name, [28, 28, 1]], [name, [32, 32, 3]]] as Array<[string, [number, number, number]]>))(
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
      model.optimizer.dispose();
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});

describe('trainModel', () => {
  test('trains on wasm, is deterministic for a seed, and saves a loadable model', async () => {
    const dir = makeLabeledFolder({ a: 40, b: 40, c: 40 }, 12);
    const m = db.mldb('tiny');
    await m.insertFolder(dir, { create: true, testFraction: 0.1 });
    const conn = await m.connection();
    const opts = { table: 'tiny', model: 'lenet5', epochs: 2, batchSize: 16, seed: 5, backend: 'wasm' as const };
    const before = tf.memory().numTensors;
    const a = await trainModel(conn, opts);
    const b = await trainModel(conn, opts);
    expect(a.backend).toBe('wasm');
    expect(a.epochs).toHaveLength(2);
    expect(a.epochs.map((e) => [e.loss, e.valLoss])).toEqual(b.epochs.map((e) => [e.loss, e.valLoss]));
    expect(a.labels).toEqual(['a', 'b', 'c']);
    const out = tempDir();
    await saveModel(a.model, out, { labels: a.labels });
    const loaded = await loadModel(out);
    const x = tf.zeros([1, 12, 12, 1]);
    const p1 = tf.tidy(() => (a.model.predict(x) as tf.Tensor).dataSync());
    const p2 = tf.tidy(() => (loaded.predict(x) as tf.Tensor).dataSync());
    expect(Array.from(p2)).toEqual(Array.from(p1));
    tf.dispose([x]);
    for (const m of [a.model, b.model]) {
      m.optimizer.dispose();
      m.dispose();
    }
    loaded.dispose();
    // Nothing from reading, batching, training or evaluating outlives the models.
    expect(tf.memory().numTensors).toBe(before);
  });

  test('bad input: unknown model, single class, batch size above the rows', async () => {
    const conn = await db.mldb().connection();
    await expect(trainModel(conn, { table: 'tiny', model: 'nope' })).rejects.toMatchObject({ message: 'unknown model "nope"', hint: expect.stringMatching(/simple_cnn/) });
    const one = makeLabeledFolder({ only: 10 }, 12);
    await db.mldb('one_class').insertFolder(one, { create: true });
    await expect(trainModel(conn, { table: 'one_class', model: 'lenet5' })).rejects.toThrow(/at least 2/);
    await expect(trainModel(conn, { table: 'tiny', model: 'lenet5', batchSize: 100000 })).rejects.toThrow(/larger than/);
  });
});
