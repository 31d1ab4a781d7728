import fs from 'node:fs';
import { SCHEMA_VERSION } from '../../src/db/migrations';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../../src/images/decode';
import { SCALED } from '../../src/samples/scaled';
import { preprocess } from '../../src/ml/predict';
import { freshDatabase } from '../helpers/db';
import { tempDir } from '../helpers/fixtures';
import { resetToVersion } from '../helpers/schema-versions';

const db = freshDatabase();
afterAll(() => db.cleanup());

/** A folder of 24×12 images (twice as wide as tall) in two labels, each image its own colours. */
async function wideFolder(perLabel: number): Promise<string> {
  const dir = tempDir();
  for (const [l, label] of ['a', 'b'].entries()) {
    fs.mkdirSync(path.join(dir, label));
    for (let i = 0; i < perLabel; i++) {
      const raw = Buffer.alloc(24 * 12 * 3);
      for (let k = 0; k < raw.length; k++) raw[k] = 30 + ((k * (i + 3) + l * 97) % 220);
      const png = await sharp(raw, { raw: { width: 24, height: 12, channels: 3 } })
        .png()
        .toBuffer();
      fs.writeFileSync(path.join(dir, label, `${i}.png`), png);
    }
  }
  return dir;
}

async function sharpFit(original: Buffer, fit: 'fill' | 'cover' | 'contain'): Promise<Buffer> {
  const img = await decodeImage(original);
  return sharp(Buffer.from(img.rgb), { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(8, 8, { fit, background: { r: 0, g: 0, b: 0, alpha: 1 } })
    .raw()
    .toBuffer();
}

describe('a table resize mode', () => {
  test.each([
    ['stretch', 'fill'],
    ['crop', 'cover'],
    ['pad', 'contain'],
  ] as const)('--resize %s: recorded, and import stores sharp %s of every image', async (mode, fit) => {
    const m = db.mldb(`wide_${mode}`);
    const created = await m.createTable(undefined, { shape: { height: 8, width: 8, channels: 3 }, resize: mode });
    expect(created.resize).toBe(mode);
    await m.insertFolder(await wideFolder(3));
    const details = await m.describe();
    expect(details.dataset.resize).toBe(mode);
    const rows = await (
      await m.connection()
    ).query<{ original: Buffer; pixels: Buffer }>(`SELECT original, pixels FROM wide_${mode} ORDER BY id`);
    expect(rows).toHaveLength(6);
    for (const r of rows) expect(r.pixels).toEqual(await sharpFit(r.original, fit));
    expect((await m.listTables()).find((t) => t.name === `wide_${mode}`)?.resize).toBe(mode);
  });

  test('an import that creates the table takes its mode: recorded, applied, and held to on later imports', async () => {
    const m = db.mldb('wide_import_crop');
    const dir = await wideFolder(2);
    await m.insertFolder(dir, { create: true, shape: { height: 8, width: 8, channels: 3 }, resize: 'crop' });
    expect((await m.describe()).dataset.resize).toBe('crop');
    const rows = await (
      await m.connection()
    ).query<{ original: Buffer; pixels: Buffer }>('SELECT original, pixels FROM wide_import_crop ORDER BY id');
    expect(rows).toHaveLength(4);
    for (const r of rows) expect(r.pixels).toEqual(await sharpFit(r.original, 'cover'));
    // The same mode again is no change; another is refused before anything is read.
    expect((await m.insertFolder(dir, { create: true, resize: 'crop' })).alreadyPresent).toBe(4);
    await expect(m.insertFolder(await wideFolder(1), { resize: 'pad' })).rejects.toMatchObject({
      field: 'resize',
      message: 'table "wide_import_crop" already resizes by crop, not pad',
    });
    expect(await (await m.connection()).query('SELECT id FROM wide_import_crop')).toHaveLength(4);
    await expect(
      db.mldb('odd_import').insertFolder(dir, { create: true, resize: 'squash' as never }),
    ).rejects.toMatchObject({
      field: 'resize',
      message: expect.stringMatching(/^resize must be one of stretch, crop, pad, got squash/),
    });
    expect((await m.listTables()).map((t) => t.name)).not.toContain('odd_import');
  });

  test('a table created without a mode stretches; an unknown mode is refused by name', async () => {
    const m = db.mldb('plain');
    expect((await m.createTable()).resize).toBe('stretch');
    await expect(m.createTable('odd', { resize: 'squash' as never })).rejects.toMatchObject({
      field: 'resize',
      message: expect.stringMatching(/^resize must be one of stretch, crop, pad, got squash/),
    });
  });

  test('a model trained on a cropped table records cover, and predict crops its inputs alike', async () => {
    const m = db.mldb('wide_train');
    await m.createTable(undefined, { shape: { height: 8, width: 8, channels: 3 }, resize: 'crop' });
    const folder = await wideFolder(8);
    await m.insertFolder(folder);
    const report = await m.train({
      model: 'lenet5',
      epochs: 1,
      batchSize: 4,
      validationSplit: 0,
      save: tempDir(),
      backend: 'wasm',
      store: false,
    });
    const saved = await m.openModel(report.savedTo!);
    try {
      expect(saved.metadata.preprocessing.resize).toBe('cover');
      const file = path.join(folder, 'a', '0.png');
      const xs = await preprocess(fs.readFileSync(file), saved);
      const cover = await sharpFit(fs.readFileSync(file), 'cover');
      expect(Array.from(xs)).toEqual(Array.from(cover, (v) => SCALED[v]));
    } finally {
      saved.model.dispose();
    }
  });

  test('a database of the previous schema gains the column, its tables stretching, rows kept', async () => {
    const old = freshDatabase();
    try {
      const m = old.mldb('earlier');
      await m.createTable(undefined, { shape: { height: 8, width: 8, channels: 3 } });
      await m.insertFolder(await wideFolder(2));
      await m.close();
      await resetToVersion(old.url, 9, async (conn) => {
        await conn.query('ALTER TABLE mldb_datasets DROP COLUMN resize');
      });
      const again = old.mldb('earlier');
      const details = await again.describe();
      expect(details.rows).toBe(4);
      expect(details.dataset.resize).toBe('stretch');
      expect(details.dataset.shape).toEqual({ height: 8, width: 8, channels: 3 });
      const [version] = await (
        await again.connection()
      ).query<{ v: number }>('SELECT MAX(version) AS v FROM mldb_schema');
      expect(Number(version.v)).toBe(SCHEMA_VERSION);
    } finally {
      await old.cleanup();
    }
  });
});
