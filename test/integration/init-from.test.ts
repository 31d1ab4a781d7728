import fs from 'node:fs';
import path from 'node:path';
import { getArchitecture } from '../../src/ml/architectures/registry';
import { loadSavedModel } from '../../src/ml/artifacts';
import { selectBackend } from '../../src/ml/backend';
import { startModel } from '../../src/ml/start-from';
import { tf } from '../../src/ml/tf';
import { resolveHyperparameters } from '../../src/ml/training-options';
import type { TrainReport } from '../../src/ml/training-run';
import { listRuns } from '../../src/db/run-queries';
import { mldb } from '../helpers/cli';
import { freshDatabase } from '../helpers/db';
import { SAMPLE_DIGITS, tempDir } from '../helpers/fixtures';

/**
 * --init-from, --freeze and --unfreeze-at against a real server: a simple_cnn (batch-norm
 * included) trained on the shipped digits, then started from on the same table, on a table of
 * three of its labels (the head rebuilt), with layers frozen on both engines, and released.
 */
const db = freshDatabase();
afterAll(() => db.cleanup());

/** simple_cnn's first two blocks: convolutions and batch-norm (moving statistics included). */
const FROZEN = [
  'block1_conv1',
  'block1_bn1',
  'block1_conv2',
  'block1_bn2',
  'block1_relu',
  'block1_pool',
  'block1_dropout',
  'block2_conv1',
  'block2_bn1',
  'block2_conv2',
  'block2_bn2',
];

let source: TrainReport;
let sourceRef: string;

/** DIR/<label>/… with only these labels of the shipped digits. */
function digitsOf(labels: string[]): string {
  const dir = tempDir();
  for (const l of labels) fs.cpSync(path.join(SAMPLE_DIGITS, l), path.join(dir, l), { recursive: true });
  return dir;
}

beforeAll(async () => {
  await db.mldb('digits').insertFolder(SAMPLE_DIGITS, { create: true });
  await db.mldb('three').insertFolder(digitsOf(['0', '1', '2']), { create: true });
  await db.mldb('rgb').insertFolder(digitsOf(['0', '1']), { create: true, shape: { channels: 3 } });
  source = await db.mldb('digits').train({
    model: 'simple_cnn',
    epochs: 1,
    batchSize: 32,
    backend: 'onnxruntime',
    save: tempDir(),
    store: { name: 'digits_base' },
  });
  sourceRef = `run:${source.runId}`;
}, 300_000);

/** Each layer's weights, by layer name, as bytes (frozen means byte-equal). */
function layerBytes(model: tf.LayersModel): Map<string, Buffer[]> {
  return new Map(
    model.layers.map((l) => [l.name, l.getWeights().map((w) => Buffer.from((w.dataSync() as Float32Array).buffer))]),
  );
}

async function sourceModel() {
  const saved = await loadSavedModel(source.savedTo!);
  const bytes = layerBytes(saved.model);
  saved.model.dispose();
  return { bytes, labels: saved.metadata.labels };
}

async function built(labels: number, seed = 3) {
  await selectBackend('wasm');
  return getArchitecture('simple_cnn').build(tf, { inputShape: [28, 28, 1], numClasses: labels, seed });
}

test('on the same table every layer is copied: the model starts with the trained weights', async () => {
  const { bytes, labels } = await sourceModel();
  const model = await built(10);
  const start = await startModel(
    await db.mldb().connection(),
    model,
    labels,
    resolveHyperparameters({ initFrom: sourceRef }),
  );
  const layers = model.layers.filter((l) => l.weights.length > 0);
  expect(start?.initFrom).toEqual({
    ref: sourceRef,
    model: `${source.storedModel!.name}@${source.storedModel!.version}`,
    copied: layers.length,
    layers: layers.length,
    headRebuilt: null,
  });
  expect(layerBytes(model)).toEqual(bytes);
  model.dispose();
});

test("with other labels the head keeps a fresh initialisation for the table's labels; the rest is copied", async () => {
  const { bytes } = await sourceModel();
  const model = await built(3);
  const fresh = layerBytes(await built(3));
  const start = await startModel(
    await db.mldb().connection(),
    model,
    ['0', '1', '2'],
    resolveHyperparameters({ initFrom: 'digits_base' }),
  );
  expect(start?.initFrom?.headRebuilt).toBe('head_conv');
  const now = layerBytes(model);
  for (const [name, w] of now) {
    if (name === 'head_conv') expect(w).toEqual(fresh.get(name));
    else expect(w).toEqual(bytes.get(name));
  }
  model.dispose();
});

describe.each(['onnxruntime', 'wasm'] as const)('--freeze on %s', (backend) => {
  test('frozen layers (batch-norm statistics included) stay byte-equal; the others train', async () => {
    const { bytes } = await sourceModel();
    const report = await db.mldb('three').train({
      model: 'simple_cnn',
      initFrom: sourceRef,
      freeze: 'up-to:block2_bn2',
      epochs: 2,
      batchSize: 32,
      backend,
      save: tempDir(),
      store: false,
    });
    expect(report.start?.freeze).toEqual({ layers: FROZEN, unfreezeAt: null });
    const saved = await loadSavedModel(report.savedTo!);
    const after = layerBytes(saved.model);
    saved.model.dispose();
    for (const name of FROZEN) expect(after.get(name)).toEqual(bytes.get(name));
    for (const name of ['block3_conv1', 'block3_bn1', 'block5_conv'])
      expect(after.get(name)).not.toEqual(bytes.get(name));
    const [run] = await listRuns(await db.mldb().connection(), { dataset: 'three' });
    expect(run.hyperparameters).toMatchObject({
      initFrom: sourceRef,
      freeze: 'up-to:block2_bn2',
      initModel: `${source.storedModel!.name}@${source.storedModel!.version}`,
      headRebuilt: 'head_conv',
      frozenLayers: FROZEN,
    });
  }, 300_000);

  test('--unfreeze-at releases them at that epoch with the learning rate × 0.1', async () => {
    const { bytes } = await sourceModel();
    const report = await db.mldb('three').train({
      model: 'simple_cnn',
      initFrom: sourceRef,
      freeze: 4,
      unfreezeAt: 2,
      epochs: 2,
      batchSize: 32,
      learningRate: 0.002,
      backend,
      save: tempDir(),
      store: false,
    });
    expect(report.epochs.map((e) => e.learningRate)).toEqual([0.002, 0.002 * 0.1]);
    const saved = await loadSavedModel(report.savedTo!);
    const after = layerBytes(saved.model);
    saved.model.dispose();
    for (const name of FROZEN.slice(0, 4)) expect(after.get(name)).not.toEqual(bytes.get(name));
  }, 300_000);
});

test('the CLI says the head was rebuilt in one line; runs show states the start', () => {
  const env = { MLDB_URL: db.url, MLDB_TABLE: 'three' };
  const ref = `${source.storedModel!.name}@${source.storedModel!.version}`;
  const r = mldb(
    [
      'train',
      '--model',
      'simple_cnn',
      '--init-from',
      ref,
      '--freeze',
      'up-to:block1_dropout',
      '--epochs',
      '1',
      '--save',
      tempDir(),
      '--no-store',
    ],
    env,
  );
  expect(r.code).toBe(0);
  const said = r.stdout + r.stderr;
  expect(said).toMatch(
    `started from ${ref}: 18 layers copied; head head_conv rebuilt for this table's labels (the model's differ)`,
  );
  expect(said).toMatch('frozen: 7 layers (block1_conv1 … block1_dropout), for the whole run');
  const runId = /run (\d+)/.exec(r.stdout)![1];
  const show = mldb(['runs', 'show', runId], env);
  expect(show.stdout).toMatch(`started from ${ref}: 18 layers copied; head head_conv rebuilt`);
  expect(show.stdout).toMatch('frozen: 7 layers (block1_conv1 … block1_dropout)');
});

describe('errors: one line naming the reference or the layer, and no run recorded', () => {
  const runsOf = async (table: string) => (await listRuns(await db.mldb().connection(), { dataset: table })).length;
  const train = (table: string, o: Record<string, unknown>) =>
    db.mldb(table).train({ model: 'simple_cnn', epochs: 1, backend: 'onnxruntime', save: tempDir(), ...o });

  test.each([
    [{ initFrom: 'run:999999' }, /^initFrom run:999999: no run 999999$/, 4],
    [{ initFrom: 'no_such_model' }, /^initFrom no_such_model: no model folder or stored model "no_such_model"$/, 4],
    [{ initFrom: './no/such/folder' }, /^initFrom \.\/no\/such\/folder: /, 4],
    [{ freeze: 'up-to:nope' }, /^freeze up-to:nope: simple_cnn has no layer "nope"$/, 2],
    [{ freeze: 40 }, /^freeze 40 would freeze the head \(layer head_conv, number 31 of 33\): nothing would learn$/, 2],
    [{ freeze: 'block1' }, /^freeze must be a number of layers or up-to:LAYER, got "block1"$/, 2],
    [{ unfreezeAt: 2 }, /^unfreezeAt releases frozen layers; nothing is frozen$/, 2],
  ])('%j', async (options, message, exitCode) => {
    const before = await runsOf('three');
    await expect(train('three', options)).rejects.toMatchObject({ message: expect.stringMatching(message), exitCode });
    expect(await runsOf('three')).toBe(before);
  });

  test('a layer whose shape cannot match is named (a gray model into an RGB table)', async () => {
    await expect(train('rgb', { initFrom: sourceRef })).rejects.toMatchObject({
      exitCode: 2,
      field: 'initFrom',
      subject: 'block1_conv1',
      message:
        `initFrom ${sourceRef}: layer block1_conv1 cannot take its weights: ` +
        'Conv2D 7x7x1x16 there, Conv2D 7x7x3x16 here',
    });
    expect(await runsOf('rgb')).toBe(0);
  });

  test('the CLI names the flag', () => {
    const r = mldb(['train', '--model', 'simple_cnn', '--init-from', 'run:999999'], {
      MLDB_URL: db.url,
      MLDB_TABLE: 'three',
    });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch('--init-from run:999999: no run 999999');
    const layer = mldb(['train', '--model', 'simple_cnn', '--freeze', 'up-to:nope'], {
      MLDB_URL: db.url,
      MLDB_TABLE: 'three',
    });
    expect(layer.code).toBe(2);
    expect(layer.stderr).toMatch('--freeze up-to:nope: simple_cnn has no layer "nope"');
  });
});
