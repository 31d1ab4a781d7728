import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { decodeToShape } from '../../src/images/decode';
import { digitsFolder, grayPng, makeLabeledFolder, tempDir } from '../helpers/fixtures';
import { freshDatabase } from '../helpers/db';

const db = freshDatabase();
afterAll(() => db.cleanup());

function sha(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function distinctHashes(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.add(sha(p));
    }
  };
  walk(dir);
  return out;
}

describe('import', () => {
  const digits = digitsFolder();

  test('imports every distinct image once, stores decoded pixels, and a re-import adds nothing', async () => {
    const m = db.mldb('digits');
    const first = await m.insertFolder(digits, { create: true });
    const expected = distinctHashes(digits).size;
    expect(first.imported).toBe(expected);
    expect(first.rejected).toEqual([]);
    expect(first.shape).toEqual({ height: 20, width: 20, channels: 1 });
    expect(first.shapeFromFirstImage).toBe(true);

    const again = await m.insertFolder(digits);
    expect(again).toMatchObject({ imported: 0, alreadyPresent: expected });

    const details = await m.describe();
    expect(details.rows).toBe(expected);
    expect(details.labels.map((l) => l.label)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const test = details.labels.reduce((s, l) => s + l.test, 0);
    expect(test / expected).toBeGreaterThan(0.05);
    expect(test / expected).toBeLessThan(0.15);

    // The stored pixels are exactly the decoded original at the dataset's shape.
    const conn = await m.connection();
    const rows = await conn.query<{ original: Buffer; pixels: Buffer }>(
      'SELECT original, pixels FROM digits ORDER BY id LIMIT 5',
    );
    for (const r of rows) {
      expect(r.pixels.length).toBe(400);
      expect(Buffer.from(await decodeToShape(r.original, { height: 20, width: 20, channels: 1 }))).toEqual(r.pixels);
    }
  });

  test('a first image whose pixels cannot fit a row does not fix the shape; the next one does', async () => {
    const m = db.mldb('shape_later');
    const packet = await (await m.connection()).maxAllowedPacket();
    // A solid colour compresses to a few KB, but its pixels need more than half a packet.
    const side = Math.ceil(Math.sqrt(packet / 2));
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'x'));
    const solid = await sharp({ create: { width: side, height: side, channels: 3, background: '#3366aa' } })
      .png()
      .toBuffer();
    fs.writeFileSync(path.join(dir, 'x', 'a-big.png'), solid);
    fs.writeFileSync(path.join(dir, 'x', 'b-small.png'), grayPng(8, 8, 4242));
    const summary = await m.insertFolder(dir, { create: true });
    expect(solid.length).toBeLessThan(packet / 10);
    expect(summary.rejected.map((r) => [path.basename(r.path), r.reason])).toEqual([
      ['a-big.png', expect.stringMatching(/pixels alone take .* give the table a smaller --size$/)],
    ]);
    expect(summary.rejected[0].reason).not.toMatch(/raise max_allowed_packet/);
    expect(summary.shape).toEqual({ height: 8, width: 8, channels: 1 });
    expect(summary.imported).toBe(1);
  });

  test('export then re-import into a new table gives the same hashes', async () => {
    const m = db.mldb('digits');
    const out = tempDir();
    const exported = await m.exportTable(out);
    const details = await m.describe();
    expect(exported.written).toBe(details.rows);
    const copy = await m.insertFolder(out, { table: 'digits_copy', create: true });
    expect(copy.imported).toBe(details.rows);
    const conn = await m.connection();
    const a = await conn.query<{ h: string }>('SELECT HEX(sha256) AS h, label, split FROM digits ORDER BY sha256');
    const b = await conn.query<{ h: string }>('SELECT HEX(sha256) AS h, label, split FROM digits_copy ORDER BY sha256');
    expect(b).toEqual(a);
  });

  test('labels with spaces and non-ASCII names round-trip exactly', async () => {
    const labels = ['two words', 'Ünïcödé', '猫', 'A', 'a'];
    const dir = makeLabeledFolder(Object.fromEntries(labels.map((l) => [l, 2])));
    const m = db.mldb('labels');
    await m.insertFolder(dir, { create: true });
    const stored = (await m.describe()).labels.map((l) => l.label).sort();
    expect(stored).toEqual([...labels].sort());
    const out = tempDir();
    await m.exportTable(out);
    expect(fs.readdirSync(out).sort()).toEqual([...labels].sort());
    expect((await m.rows(undefined, { label: '猫' })).length).toBe(2);
  });

  test('labels unsafe as folder names round-trip exactly through export and import, none merged', async () => {
    const labels = ['cat:1', 'cat?1', 'cat_1', 'a/b', '..', '.hidden', 'tab\there', 'new\nline', 'x\u0001y', '100%'];
    labels.push('50%25', '%2E', 'a%20b', 'größe', '<>|*"\\');
    const m = db.mldb('odd_labels');
    let seed = 7000;
    const items = labels.flatMap((label) =>
      [0, 1].map((i) => ({
        path: `${label}-${i}`,
        relative: `${label}/${i}.png`,
        label,
        bytes: grayPng(8, 8, seed++),
      })),
    );
    await m.insertFrom({ items, rejected: [] }, { create: true });
    const out = tempDir();
    const exported = await m.exportTable(out);
    expect(exported.written).toBe(items.length);
    // One folder per label, nothing hidden, nothing outside `out`.
    expect(fs.readdirSync(out)).toHaveLength(labels.length);
    expect(fs.readdirSync(out).some((f) => f.startsWith('.'))).toBe(false);
    const copy = await m.insertFolder(out, { table: 'odd_labels_copy', create: true });
    expect(copy.rejected).toEqual([]);
    const conn = await m.connection();
    const byHash = async (t: string) =>
      conn.query<{ h: string; label: string }>(`SELECT HEX(sha256) AS h, label FROM ${t} ORDER BY sha256`);
    expect(await byHash('odd_labels_copy')).toEqual(await byHash('odd_labels'));
  });

  test('export never writes through a symlink in the target folder', async () => {
    const m = db.mldb('digits');
    const out = tempDir();
    const elsewhere = tempDir();
    const [first] = (await m.describe()).labels;
    fs.symlinkSync(elsewhere, path.join(out, first.label));
    await expect(m.exportTable(out)).rejects.toThrow(/is a symlink: mldb export does not write through links/);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });

  test('what an import found and did not store is kept once: conflicts and duplicates, by source', async () => {
    const dir = makeLabeledFolder({ a: 2, b: 1 }, 16);
    const [a0] = fs.readdirSync(path.join(dir, 'a')).sort();
    // The same file twice under a, and once more under b: a duplicate and a conflict.
    fs.copyFileSync(path.join(dir, 'a', a0), path.join(dir, 'a', 'z-again.png'));
    fs.copyFileSync(path.join(dir, 'a', a0), path.join(dir, 'b', 'same-as-a.png'));
    const m = db.mldb('findings');
    const summary = await m.insertFolder(dir, { create: true });
    expect(summary.duplicates).toBe(2);
    expect(summary.conflicts).toHaveLength(1);
    const conn = await m.connection();
    const stored = async () =>
      conn.query<{ kind: string; source: string; label: string; kept_source: string; kept_label: string }>(
        "SELECT kind, source, label, kept_source, kept_label FROM mldb_import_findings WHERE dataset = 'findings' " +
          'ORDER BY kind, source',
      );
    expect(await stored()).toEqual([
      { kind: 'conflict', source: 'b/same-as-a.png', label: 'b', kept_source: `a/${a0}`, kept_label: 'a' },
      { kind: 'duplicate', source: 'a/z-again.png', label: 'a', kept_source: `a/${a0}`, kept_label: 'a' },
    ]);
    // A re-import finds them again (and the conflict against the stored row): nothing added twice.
    await m.insertFolder(dir);
    const again = await stored();
    expect(again.filter((f) => f.kind === 'duplicate')).toHaveLength(1);
    expect(again.filter((f) => f.kind === 'conflict').map((f) => f.source)).toEqual(['b/same-as-a.png']);
  });

  test('bad files are skipped with their reasons and every good file is stored', async () => {
    const dir = makeLabeledFolder({ good: 5 }, 16);
    const bad = path.join(dir, 'bad');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'empty.png'), '');
    fs.writeFileSync(path.join(bad, 'text.png'), 'this is not an image');
    fs.writeFileSync(path.join(bad, 'truncated.png'), grayPng(64, 64, 99).subarray(0, 100));
    fs.writeFileSync(path.join(bad, 'unreadable.png'), grayPng(16, 16, 123));
    fs.chmodSync(path.join(bad, 'unreadable.png'), 0o000);
    fs.symlinkSync(bad, path.join(bad, 'loop'));
    const m = db.mldb('with_bad');
    // Noise does not compress: a file over half of max_allowed_packet cannot be sent in one row.
    const packet = await (await m.connection()).maxAllowedPacket();
    const side = Math.ceil(Math.sqrt(packet * 0.6));
    fs.writeFileSync(path.join(bad, 'huge.png'), noisePng(side));

    // A path longer than the source column (each name under NAME_MAX): refused alone.
    const deep = path.join(bad, ...Array(5).fill('n'.repeat(220)));
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(deep, 'deep.png'), grayPng(16, 16, 321));
    // A label longer than the label column: refused per file, whatever the source.
    fs.mkdirSync(path.join(dir, 'L'.repeat(200)));
    fs.writeFileSync(path.join(dir, 'L'.repeat(200), 'long-label.png'), grayPng(16, 16, 322));
    const summary = await m.insertFolder(dir, { create: true, shape: { height: 16, width: 16, channels: 1 } });
    const reasons = Object.fromEntries(summary.rejected.map((r) => [path.basename(r.path), r.reason]));
    expect(reasons['empty.png']).toMatch(/empty/);
    expect(reasons['text.png']).toMatch(/not a supported image/);
    expect(reasons['truncated.png']).toMatch(/corrupt PNG/);
    expect(reasons['loop']).toMatch(/symlink loop/);
    expect(reasons['deep.png']).toMatch(/path longer than 1024 characters/);
    expect(reasons['long-label.png']).toMatch(/label longer than 191 characters/);
    expect(reasons['huge.png']).toMatch(/too large for the server/);
    if (process.getuid?.() !== 0) expect(reasons['unreadable.png']).toMatch(/cannot read/);
    expect(summary.imported).toBe(5 + (process.getuid?.() === 0 ? 1 : 0));
    expect((await m.describe()).rows).toBe(summary.imported);
  });
});

function noisePng(side: number): Buffer {
  const { PNG } = require('pngjs') as typeof import('pngjs');
  const png = new PNG({ width: side, height: side, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = crypto.randomBytes(side * side);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, deflateLevel: 1 });
}
