import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { tf } from '../../src/ml/tf';
import { loadModel } from '../../src/ml/artifacts';
import { freshDatabase } from '../helpers/db';
import { grayPng, makeLabeledFolder, SAMPLE_DIGITS, tempDir } from '../helpers/fixtures';

const db = freshDatabase();
afterAll(() => db.cleanup());

const modelDir = path.join(tempDir(), 'lenet');

describe('MlDb: train, evaluate, predict, drawTensors', () => {
  beforeAll(async () => {
    await db.mldb('digits').insertFolder(SAMPLE_DIGITS, { create: true });
  });

  test('train evaluates on the test split and saves the model with its metadata', async () => {
    const m = db.mldb('digits');
    const report = await m.train({ model: 'LeNet5', epochs: 5, batchSize: 32, backend: 'wasm', save: modelDir });
    expect(report.savedTo).toBe(path.resolve(modelDir));
    expect(report.stopReason).toBe('completed');
    expect(report.test).not.toBeNull();
    const [{ n }] = await (
      await m.connection()
    ).query<{ n: number }>("SELECT COUNT(*) AS n FROM digits WHERE split = 'test'");
    expect(report.test!.count).toBe(Number(n));
    expect(report.split.test).toBe(Number(n));
    expect(report.test!.accuracy).toBeGreaterThan(0.6);
    const meta = JSON.parse(fs.readFileSync(path.join(modelDir, 'metadata.json'), 'utf8'));
    expect(meta).toMatchObject({
      format: 'mldb-model',
      labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      inputShape: [28, 28, 1],
      preprocessing: { resize: 'fill', channels: 1, scale: 1 / 255 },
      dataset: { table: 'digits', database: db.name, fingerprint: report.fingerprint },
      architecture: 'lenet5',
      hyperparameters: {
        optimizer: 'adam',
        learningRate: 0.001,
        epochs: 5,
        batchSize: 32,
        validationSplit: 0.1,
        seed: 1,
        patience: 0,
      },
      metrics: { testAccuracy: report.test!.accuracy },
      backend: 'wasm',
      versions: { tfjs: tf.version.tfjs },
    });
    expect(meta.epochs).toHaveLength(5);
    expect(JSON.stringify(meta)).not.toMatch(/password/i);
  });

  test('evaluate: loss, accuracy, per-class scores and a confusion matrix that agree with each other', async () => {
    const r = await db.mldb().evaluate(modelDir, { backend: 'wasm' });
    expect(r.table).toBe('digits'); // from the metadata
    expect(r.split).toBe('test');
    const total = r.confusion.flat().reduce((a, b) => a + b, 0);
    const diagonal = r.confusion.reduce((a, row, i) => a + row[i], 0);
    expect(total).toBe(r.count);
    expect(r.accuracy).toBeCloseTo(diagonal / total, 10);
    expect(r.classes.map((c) => c.support)).toEqual(r.confusion.map((row) => row.reduce((a, b) => a + b, 0)));
    for (const c of r.classes)
      expect(c.f1).toBeCloseTo(
        c.precision + c.recall > 0 ? (2 * c.precision * c.recall) / (c.precision + c.recall) : 0,
        10,
      );
    expect(r.mistakes).toHaveLength(r.count - diagonal);
    expect(r.loss).toBeGreaterThan(0);
    // The same numbers as training reported on the same split.
    const meta = JSON.parse(fs.readFileSync(path.join(modelDir, 'metadata.json'), 'utf8'));
    expect(r.accuracy).toBeCloseTo(meta.metrics.testAccuracy, 10);
    const onTrain = await db.mldb().evaluate(modelDir, { split: 'train', backend: 'wasm' });
    expect(onTrain.count).toBeGreaterThan(r.count);
  });

  test('evaluate streams under a tiny memory budget with the same result', async () => {
    const whole = await db.mldb().evaluate(modelDir, { backend: 'wasm' });
    const streamed = await db.mldb().evaluate(modelDir, { backend: 'wasm', memoryBudget: 20_000 });
    expect(streamed.confusion).toEqual(whole.confusion);
    expect(streamed.loss).toBeCloseTo(whole.loss, 6);
  });

  test('predict: label, confidence and top-k per image, preprocessed as in training', async () => {
    const files = ['3', '7'].map((d) => path.join(SAMPLE_DIGITS, d, fs.readdirSync(path.join(SAMPLE_DIGITS, d))[0]));
    // The same digit as an RGB JPEG at another size: decoded, grayed and resized like an import.
    const rgbJpeg = path.join(tempDir(), 'seven.jpg');
    await sharp(fs.readFileSync(files[1])).resize(56, 56).toColourspace('srgb').jpeg({ quality: 95 }).toFile(rgbJpeg);
    const { predictions, failures } = await db
      .mldb()
      .predict(modelDir, [...files, rgbJpeg], { top: 2, backend: 'wasm' });
    expect(failures).toEqual([]);
    // Exactly what the model gives on the stored pixels of those files (training's input).
    const conn = await db.mldb().connection();
    const model = await loadModel(modelDir);
    for (const [i, file] of files.entries()) {
      const [row] = await conn.query<{ pixels: Buffer }>('SELECT pixels FROM digits WHERE source LIKE ?', [
        `%${path.basename(file)}`,
      ]);
      const probs = tf.tidy(() =>
        Array.from(
          (
            model.predict(
              tf.tensor4d(
                Float32Array.from(row.pixels, (v) => v / 255),
                [1, 28, 28, 1],
              ),
            ) as tf.Tensor
          ).dataSync(),
        ),
      );
      const best = probs.indexOf(Math.max(...probs));
      expect(predictions[i].label).toBe(String(best));
      expect(predictions[i].confidence).toBeCloseTo(probs[best], 6);
    }
    model.dispose();
    expect(predictions[2].label).toBe(predictions[1].label);
    for (const p of predictions) {
      expect(p.top).toHaveLength(2);
      expect(p.top[0]).toEqual({ label: p.label, probability: p.confidence });
      expect(p.top[0].probability).toBeGreaterThanOrEqual(p.top[1].probability);
    }
  });

  test('predict reports unreadable images one by one and still predicts the rest', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'broken.png'), grayPng(28, 28, 1).subarray(0, 40));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    const good = path.join(dir, 'good.png');
    fs.writeFileSync(good, grayPng(28, 28, 2));
    const r = await db
      .mldb()
      .predict(
        modelDir,
        [path.join(dir, 'broken.png'), path.join(dir, 'notes.txt'), path.join(dir, 'missing.png'), good],
        { backend: 'wasm' },
      );
    expect(r.predictions.map((p) => p.file)).toEqual([good]);
    expect(r.failures).toEqual([
      { file: path.join(dir, 'broken.png'), error: expect.stringMatching(/corrupt PNG/) },
      { file: path.join(dir, 'notes.txt'), error: expect.stringMatching(/not a supported image/) },
      { file: path.join(dir, 'missing.png'), error: 'no such file' },
    ]);
  });

  test('drawTensors: the stored pixels of a split as xs in [0, 1] and one-hot ys', async () => {
    const m = db.mldb('digits');
    const before = tf.memory().numTensors;
    const t = await m.drawTensors('digits', { split: 'test' });
    const n = t.ids.length;
    expect(t.xs.shape).toEqual([n, 28, 28, 1]);
    expect(t.ys.shape).toEqual([n, 10]);
    expect(t.labels).toHaveLength(10);
    const [min, max, rowSums] = tf.tidy(() => [
      t.xs.min().dataSync()[0],
      t.xs.max().dataSync()[0],
      Array.from(t.ys.sum(1).dataSync()),
    ]);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(max).toBeGreaterThan(0.5);
    expect(rowSums.every((s) => s === 1)).toBe(true);
    tf.dispose([t.xs, t.ys]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('a table of another shape, a missing or damaged model folder: one clear error each', async () => {
    const m = db.mldb();
    await m.insertFolder(makeLabeledFolder({ '0': 5, '1': 5 }, 20), {
      create: true,
      table: 'small20',
      testFraction: 0.5,
    });
    await expect(m.evaluate(modelDir, { table: 'small20' })).rejects.toMatchObject({
      exitCode: 5,
      message: expect.stringMatching(/20×20×1 .* model takes 28×28×1/),
    });
    await expect(m.evaluate('/nonexistent/model')).rejects.toMatchObject({
      exitCode: 4,
      hint: expect.stringMatching(/mldb train/),
    });

    const copy = (mutate: (dir: string) => void) => {
      const dir = path.join(tempDir(), 'model');
      fs.cpSync(modelDir, dir, { recursive: true });
      mutate(dir);
      return dir;
    };
    const truncated = copy((d) => fs.truncateSync(path.join(d, 'weights.bin'), 100));
    await expect(m.predict(truncated, [])).rejects.toMatchObject({
      exitCode: 5,
      message: expect.stringMatching(/truncated/),
    });
    const flipped = copy((d) => {
      const w = fs.readFileSync(path.join(d, 'weights.bin'));
      w[w.length >> 1] ^= 0xff; // same size, other content
      fs.writeFileSync(path.join(d, 'weights.bin'), w);
    });
    await expect(m.predict(flipped, [])).rejects.toMatchObject({
      exitCode: 5,
      message: expect.stringMatching(/do not match the checksum in its metadata/),
    });
    const notAModel = copy((d) =>
      fs.writeFileSync(
        path.join(d, 'model.json'),
        JSON.stringify({ modelTopology: { nothing: 1 }, weightsManifest: [] }),
      ),
    );
    await expect(m.predict(notAModel, [])).rejects.toMatchObject({ exitCode: 5 });
    const noWeights = copy((d) => fs.rmSync(path.join(d, 'weights.bin')));
    await expect(m.predict(noWeights, [])).rejects.toMatchObject({
      exitCode: 5,
      message: expect.stringMatching(/missing a weights file/),
    });
    const badJson = copy((d) => fs.writeFileSync(path.join(d, 'model.json'), '{"modelTopology": '));
    await expect(m.predict(badJson, [])).rejects.toMatchObject({
      exitCode: 5,
      message: expect.stringMatching(/not valid JSON/),
    });
    const noMeta = copy((d) => fs.rmSync(path.join(d, 'metadata.json')));
    await expect(m.predict(noMeta, [])).rejects.toMatchObject({
      exitCode: 5,
      message: expect.stringMatching(/no metadata.json/),
    });
    const aFile = path.join(modelDir, 'model.json');
    await expect(m.predict(aFile, [])).rejects.toMatchObject({
      exitCode: 5,
      message: expect.stringMatching(/is a file/),
    });
  });
});
