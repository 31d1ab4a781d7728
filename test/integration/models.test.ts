import fs from 'node:fs';
import path from 'node:path';
import { findModel, getModel, readModelFiles, storeModel } from '../../src/db/models';
import { getArchitecture } from '../../src/ml/architectures/registry';
import { loadSavedModel, serializeModel, writeModelFolder } from '../../src/ml/artifacts';
import { openModel } from '../../src/ml/model-source';
import { tf } from '../../src/ml/tf';
import { freshDatabase } from '../helpers/db';
import { tempDir } from '../helpers/fixtures';

const db = freshDatabase();
afterAll(() => db.cleanup());

const LABELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** simple_cnn's weights (2.5 MiB) are larger than half the test server's 4 MiB packet: two chunks. */
async function modelFiles(seed: number) {
  const model = getArchitecture('simple_cnn').build(tf, { inputShape: [20, 20, 1], numClasses: 10, seed });
  const files = await serializeModel(model, {
    labels: LABELS,
    inputShape: [20, 20, 1],
    architecture: 'simple_cnn',
  });
  const probe = tf.tidy(() => (model.predict(tf.ones([1, 20, 20, 1])) as tf.Tensor).dataSync());
  model.dispose();
  return { files, probe: Array.from(probe) };
}

const info = { architecture: 'simple_cnn', labels: LABELS, inputShape: [20, 20, 1] };

test('a model stored in chunks reads back byte for byte, as the same network', async () => {
  const conn = await db.mldb().connection();
  const { files, probe } = await modelFiles(1);
  expect(files.weights.length).toBeGreaterThan((await conn.maxAllowedPacket()) / 2);
  const stored = await storeModel(conn, { ...info, name: 'digits-cnn', runId: 41 }, files);
  expect(stored).toMatchObject({ name: 'digits-cnn', version: 1, runId: 41, weightsBytes: files.weights.length });
  const [chunks] = await conn.query<{ n: number }>('SELECT COUNT(*) AS n FROM mldb_model_chunks WHERE model_id = ?', [
    stored.id,
  ]);
  expect(Number(chunks.n)).toBeGreaterThan(1);
  const back = await readModelFiles(conn, stored);
  expect(back.weights.equals(files.weights)).toBe(true);
  expect(back.modelJson).toBe(files.modelJson);

  // Loaded through the same path every --model takes, it computes what the original did.
  const saved = await openModel('run:41', async () => conn);
  const again = tf.tidy(() => (saved.model.predict(tf.ones([1, 20, 20, 1])) as tf.Tensor).dataSync());
  expect(Array.from(again)).toEqual(probe);
  expect(saved.stored?.id).toBe(stored.id);
  saved.model.dispose();

  // Pulled to a folder, it is an ordinary model folder.
  const dir = path.join(tempDir(), 'pulled');
  await writeModelFolder(dir, back);
  expect(fs.readdirSync(dir).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);
  (await loadSavedModel(dir)).model.dispose();
});

test('a model with as many and as long labels as import allows is stored, and reads back', async () => {
  const conn = await db.mldb().connection();
  const { files } = await modelFiles(3);
  // 400 labels of 180 characters: 73 KB of JSON, more than a TEXT column's 64 KB.
  const labels = Array.from({ length: 400 }, (_, i) => `${String(i).padStart(3, '0')}-${'ä'.repeat(176)}`);
  expect(JSON.stringify(labels).length).toBeGreaterThan(65_535);
  const stored = await storeModel(conn, { ...info, labels, name: 'many-labels', runId: null }, files);
  expect((await getModel(conn, String(stored.id))).labels).toEqual(labels);
});

test('a name gets versions; NAME is the newest, NAME@N and the id name one exactly', async () => {
  const conn = await db.mldb().connection();
  const a = await modelFiles(2);
  const b = await modelFiles(3);
  // Three stores of one new name at once: each gets its own version (no deadlock, no duplicate).
  const stored = await Promise.all([
    storeModel(conn, { ...info, name: 'twice' }, a.files),
    storeModel(conn, { ...info, name: 'twice' }, b.files),
    storeModel(conn, { ...info, name: 'twice' }, a.files),
  ]);
  expect(stored.map((s) => s.version).sort()).toEqual([1, 2, 3]);
  const [v1] = stored;
  const newest = stored.find((s) => s.version === 3)!;
  expect((await findModel(conn, 'twice'))!.id).toBe(newest.id);
  expect((await findModel(conn, 'twice@1'))!.version).toBe(1);
  expect((await findModel(conn, String(v1.id)))!.id).toBe(v1.id);
  expect(await findModel(conn, 'twice@9')).toBeUndefined();
  await expect(getModel(conn, 'nothing-here')).rejects.toMatchObject({ reason: 'model-missing', exitCode: 4 });
  await expect(getModel(conn, 'run:999')).rejects.toMatchObject({ reason: 'run-missing' });
  await expect(storeModel(conn, { ...info, name: '123' }, a.files)).rejects.toMatchObject({ exitCode: 2 });
  await expect(storeModel(conn, { ...info, name: '../x' }, a.files)).rejects.toMatchObject({ exitCode: 2 });
});

test('damaged weights in the database are refused, not loaded', async () => {
  const conn = await db.mldb().connection();
  const stored = await storeModel(conn, { ...info, name: 'damaged' }, (await modelFiles(4)).files);
  const damage =
    'UPDATE mldb_model_chunks SET bytes = CONCAT(SUBSTRING(bytes, 1, 100), ?) WHERE model_id = ? AND seq = 0';
  await conn.run(damage, [Buffer.alloc(1), stored.id]);
  await expect(readModelFiles(conn, stored)).rejects.toMatchObject({
    exitCode: 5,
    message: expect.stringMatching(/damaged weights/),
  });
});
