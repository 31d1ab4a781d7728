import { tf } from '../../src/ml/tf';
import { ARCHITECTURES } from '../../src/ml/architectures/registry';
import { selectBackend } from '../../src/ml/backend';
import { evaluateClassifier } from '../../src/ml/evaluate';
import { OPTIMIZERS } from '../../src/ml/optimizer-names';
import { trainModel, type TrainOptions } from '../../src/ml/train';
import { freshDatabase } from '../helpers/db';
import { SAMPLE_DIGITS } from '../helpers/fixtures';

/**
 * Training on onnxruntime (and on mldb's oneDNN addon, for the networks it runs) through the whole
 * loop, on the shipped digits (600 MNIST images, 28×28): every architecture, the model it hands
 * back, the recipe's callbacks, determinism, and accuracy against the same run on tfjs.
 */
const db = freshDatabase();
afterAll(() => db.cleanup());

beforeAll(async () => {
  await db.mldb('digits').insertFolder(SAMPLE_DIGITS, { create: true });
  // Rows of their own validation split, so that the validation pass can be repeated exactly.
  await db.mldb('digits_v').insertFolder(SAMPLE_DIGITS, { create: true, validationFraction: 0.15 });
});

/** Every weight of the model, flattened: one array to compare (jest diffs thousands of small ones slowly). */
const weights = (m: tf.LayersModel) => Float32Array.from(m.getWeights().flatMap((w) => Array.from(w.dataSync())));

test.each([...ARCHITECTURES.keys()].flatMap((name) => [[name, 'onnxruntime'] as const, [name, 'onednn'] as const]))(
  '%s trains an epoch on %s; the tfjs model it returns scores the validation rows as recorded',
  async (name, backend) => {
    const conn = await db.mldb().connection();
    const before = tf.memory().numTensors;
    const r = await trainModel(conn, {
      table: 'digits_v',
      model: name,
      epochs: 1,
      batchSize: 32,
      seed: 2,
      backend,
    });
    expect(r).toMatchObject({ backend, workers: 1 });
    expect(r.split.validationFrom).toBe('split');
    const [epoch] = r.epochs;
    expect(Number.isFinite(epoch.loss)).toBe(true);
    // Validation ran on the engine; the same rows through tfjs, on the returned model (weights and
    // batch-norm statistics written back), give the same loss and accuracy.
    await selectBackend('wasm');
    const again = await evaluateClassifier(
      conn,
      { name, model: r.model, labels: r.labels, inputShape: r.inputShape },
      'digits_v',
      'validation',
      {},
      r.rowsUntil,
    );
    expect(again.count).toBe(r.split.validation);
    expect(again.accuracy).toBeCloseTo(epoch.valAccuracy!, 6);
    expect(Math.abs(again.loss - epoch.valLoss!)).toBeLessThanOrEqual(1e-4 * Math.max(1, epoch.valLoss!));
    r.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  },
);

describe('onnxruntime against tfjs, and the recipe', () => {
  const opts: TrainOptions = { table: 'digits', model: 'lenet5', epochs: 4, batchSize: 32, seed: 5 };

  test('the same seed gives the same metrics, run after run; accuracy as on tfjs within noise', async () => {
    const conn = await db.mldb().connection();
    const a = await trainModel(conn, { ...opts, backend: 'onnxruntime' });
    const b = await trainModel(conn, { ...opts, backend: 'onnxruntime' });
    const tfjs = await trainModel(conn, { ...opts, backend: 'wasm' });
    expect(a.epochs.map((e) => [e.loss, e.accuracy, e.valLoss, e.valAccuracy])).toEqual(
      b.epochs.map((e) => [e.loss, e.accuracy, e.valLoss, e.valAccuracy]),
    );
    expect(weights(a.model)).toEqual(weights(b.model));
    const last = (r: typeof a) => r.epochs[r.epochs.length - 1];
    expect(last(a).valAccuracy!).toBeGreaterThan(0.6);
    // 54 validation rows: one row is 0.019. Both engines start from the same weights and see the
    // same batches; their runs part only by rounding (and where dropout draws: lenet5 has none).
    expect(Math.abs(last(a).valAccuracy! - last(tfjs).valAccuracy!)).toBeLessThanOrEqual(0.1);
    expect(Math.abs(last(a).loss - last(tfjs).loss) / last(tfjs).loss).toBeLessThan(0.05);
    for (const r of [a, b, tfjs]) r.model.dispose();
  });

  test('restore-best and reduce-on-plateau: the best epoch’s weights, the rate lowered and taken', async () => {
    const conn = await db.mldb().connection();
    const recipe = { ...opts, epochs: 8, learningRate: 0.01, backend: 'onnxruntime' as const };
    const r = await trainModel(conn, { ...recipe, restoreBest: true, reduceLrPatience: 1, reduceLrFactor: 0.5 });
    const losses = r.epochs.map((e) => e.valLoss!);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    expect(r.restoredEpoch).toBe(best);
    const rates = r.epochs.map((e) => e.learningRate);
    expect(Math.min(...rates)).toBeLessThan(0.01);
    // The same run stopped at the best epoch has the weights that were kept.
    const again = await trainModel(conn, { ...recipe, epochs: best, reduceLrPatience: 1, reduceLrFactor: 0.5 });
    expect(weights(r.model)).toEqual(weights(again.model));
    r.model.dispose();
    again.model.dispose();
  });

  test.each(OPTIMIZERS)('%s trains on onnxruntime: the loss falls over three epochs', async (optimizer) => {
    const conn = await db.mldb().connection();
    const r = await trainModel(conn, { ...opts, epochs: 3, optimizer, learningRate: 0.01, backend: 'onnxruntime' });
    expect(r.hyperparameters.optimizer).toBe(optimizer);
    expect(r.epochs[2].loss).toBeLessThan(r.epochs[0].loss);
    r.model.dispose();
  });

  test('--workers above 1 with onnxruntime is refused before training', async () => {
    const conn = await db.mldb().connection();
    await expect(trainModel(conn, { ...opts, backend: 'onnxruntime', workers: 2 })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/onnxruntime trains on every core/),
    });
  });
});
