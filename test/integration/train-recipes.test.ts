import { tf } from '../../src/ml/tf';
import { scheduleFactor } from '../../src/ml/lr-schedule';
import { fingerprint, trainModel, type DataPlan, type TrainOptions } from '../../src/ml/train';
import { freshDatabase } from '../helpers/db';
import { SAMPLE_DIGITS } from '../helpers/fixtures';

/**
 * The recipe (schedule, AdamW, smoothing), class balance and row subsets through the whole loop,
 * on the shipped digits (600 MNIST images) and a real server, on both engines: what the run
 * reads, what it records, and that the engines take the options (the numerics are held to PyTorch
 * and tfjs in the unit tests).
 */
const db = freshDatabase();
afterAll(() => db.cleanup());

beforeAll(async () => {
  await db.mldb('digits').insertFolder(SAMPLE_DIGITS, { create: true });
});

const BASE = { table: 'digits', model: 'lenet5', epochs: 2, batchSize: 64, seed: 3 } as const;
const ENGINES = ['wasm', 'onnxruntime'] as const;

async function train(o: Partial<TrainOptions>) {
  const conn = await db.mldb().connection();
  const plans: DataPlan[] = [];
  const r = await trainModel(conn, { ...BASE, ...o, onData: (d) => void plans.push(d) });
  r.model.dispose();
  return { ...r, plan: plans[0] };
}

describe.each(ENGINES)('on %s', (backend) => {
  test('cosine with a warm-up epoch: each epoch records its last batch’s rate, and training takes it', async () => {
    const plain = await train({ backend, learningRate: 0.01 });
    const r = await train({ backend, learningRate: 0.01, lrSchedule: 'cosine', warmupEpochs: 1 });
    const perEpoch = Math.ceil(r.split.train / BASE.batchSize);
    const schedule = { name: 'cosine' as const, total: 2 * perEpoch, warmup: perEpoch };
    expect(r.epochs.map((e) => e.learningRate)).toEqual(
      [1, 2].map((epoch) => 0.01 * scheduleFactor(schedule, epoch * perEpoch - 1)),
    );
    expect(r.epochs[0].learningRate).toBe(0.01); // the warm-up's last step is at the full rate
    expect(r.epochs[1].learningRate).toBeLessThan(0.001); // the cosine's last step, near 0
    expect(r.epochs[0].loss).not.toBe(plain.epochs[0].loss); // the warm-up's lower rates were taken
    expect(r.hyperparameters).toMatchObject({ lrSchedule: 'cosine', warmupEpochs: 1 });
  });

  test('adamw decays (and differs from adam); its decay is recorded, 0.01 unless given', async () => {
    const adam = await train({ backend, optimizer: 'adam' });
    const adamw = await train({ backend, optimizer: 'adamw', weightDecay: 0.5 });
    const standard = await train({ backend, optimizer: 'adamw', epochs: 1 });
    expect(adamw.epochs[1].loss).not.toBe(adam.epochs[1].loss);
    expect(adamw.hyperparameters.weightDecay).toBe(0.5);
    expect(standard.hyperparameters.weightDecay).toBe(0.01);
    expect(adam.hyperparameters.weightDecay).toBe(0);
  });

  test('label smoothing and class weights train (a finite, different loss) and are recorded', async () => {
    const plain = await train({ backend, epochs: 1 });
    const r = await train({
      backend,
      epochs: 1,
      labelSmoothing: 0.1,
      classWeight: 'balanced',
      batchSampler: 'balanced',
    });
    expect(Number.isFinite(r.epochs[0].loss)).toBe(true);
    expect(r.epochs[0].loss).not.toBe(plain.epochs[0].loss);
    expect(r.hyperparameters).toMatchObject({ labelSmoothing: 0.1, classWeight: 'balanced', batchSampler: 'balanced' });
  });
});

test('on both engines the same recipe reaches the same losses within noise', async () => {
  const recipe: Partial<TrainOptions> = {
    optimizer: 'adamw',
    lrSchedule: 'onecycle',
    labelSmoothing: 0.1,
    classWeight: { '1': 3 },
    learningRate: 0.003,
  };
  const [tfjs, onnx] = [
    await train({ ...recipe, backend: 'wasm' }),
    await train({ ...recipe, backend: 'onnxruntime' }),
  ];
  tfjs.epochs.forEach((e, i) => expect(Math.abs(onnx.epochs[i].loss - e.loss) / e.loss).toBeLessThan(0.05));
});

describe('subsets', () => {
  test('--labels: the model knows those labels; the fingerprint is of exactly their train rows', async () => {
    const r = await train({ backend: 'wasm', epochs: 1, labels: ['1', '3'] });
    expect(r.labels).toEqual(['1', '3']);
    const conn = await db.mldb().connection();
    const rows = await conn.query<{ id: number; sha256: Buffer }>(
      "SELECT id, sha256 FROM digits WHERE split = 'train' AND label IN ('1', '3') ORDER BY id",
    );
    expect(r.fingerprint).toEqual(
      fingerprint({
        ids: rows.map((x) => Number(x.id)),
        hashes: rows.map((x) => x.sha256),
        count: rows.length,
      } as unknown as Parameters<typeof fingerprint>[0]),
    );
    expect(r.plan.classCounts).toEqual({ '1': expect.any(Number), '3': expect.any(Number) });
    expect(r.plan.classCounts['1'] + r.plan.classCounts['3']).toBe(r.split.train);
    expect(r.hyperparameters.labels).toEqual(['1', '3']);
  });

  test('--exclude-labels and --sources narrow the rows the same way', async () => {
    const excluded = await train({ backend: 'wasm', epochs: 1, excludeLabels: ['0', '9'] });
    expect(excluded.labels).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    // mnist-D-000N.png: the first ten files of each label.
    const sourced = await train({ backend: 'wasm', epochs: 1, batchSize: 16, sources: '*mnist-?-000?.png' });
    const conn = await db.mldb().connection();
    const [{ n }] = await conn.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM digits WHERE split = 'train' AND source LIKE '%mnist-_-000_.png'",
    );
    expect(sourced.fingerprint.rows).toBe(Number(n));
    expect(Number(n)).toBeLessThan(100);
  });

  test('a label no row has, and a glob no row matches, are one clear error each', async () => {
    await expect(train({ backend: 'wasm', labels: ['1', 'seven'] })).rejects.toThrow(
      /labels names "seven", but table "digits" has no rows of it/,
    );
    await expect(train({ backend: 'wasm', sources: 'nowhere/*' })).rejects.toThrow(
      /the rows chosen of table "digits" have 0 label\(s\)/,
    );
    await expect(train({ backend: 'wasm', classWeight: { seven: 2 } })).rejects.toThrow(
      /classWeight names label "seven"/,
    );
  });
});

test('no tensors are left behind by a run with every new option', async () => {
  const before = tf.memory().numTensors;
  await train({ backend: 'wasm', epochs: 1, optimizer: 'adamw', lrSchedule: 'cosine', labelSmoothing: 0.1 });
  expect(tf.memory().numTensors).toBe(before);
});
