import fs from 'node:fs';
import path from 'node:path';
import { importThreads } from '../../src/config';
import { freshDatabase } from '../helpers/db';
import { grayPng, makeLabeledFolder, rgbPng } from '../helpers/fixtures';

/**
 * An import on a pool of threads stores exactly what an import on one thread stores: the same
 * rows in the same order (ids, splits, bytes, pixels), the same conflicts, duplicates, rejections
 * and findings, across chunk boundaries and whatever thread finishes first.
 */

const db = freshDatabase();
afterAll(() => db.cleanup());

function corpus(): string {
  // 700 files: more than one pass of 512, many groups per thread.
  const dir = makeLabeledFolder({ a: 250, b: 250, c: 190 }, 8);
  // Other sizes (resized to the table's), colour, a corrupt file, an empty one, a duplicate, a conflict.
  fs.writeFileSync(path.join(dir, 'a', 'big.png'), grayPng(24, 16, 9001));
  fs.writeFileSync(path.join(dir, 'b', 'colour.png'), rgbPng(8, 8, 9002));
  fs.writeFileSync(path.join(dir, 'c', 'corrupt.png'), grayPng(8, 8, 9003).subarray(0, 40));
  fs.writeFileSync(path.join(dir, 'c', 'empty.png'), Buffer.alloc(0));
  fs.copyFileSync(path.join(dir, 'a', 'img-3.png'), path.join(dir, 'a', 'again.png'));
  fs.copyFileSync(path.join(dir, 'a', 'img-4.png'), path.join(dir, 'b', 'other-label.png'));
  return dir;
}

test('a pool of threads stores every row, finding and rejection exactly as one thread does', async () => {
  const dir = corpus();
  const one = await db
    .mldb()
    .insertFolder(dir, { table: 'one_thread', create: true, shape: { channels: 1 }, threads: 1 });
  const many = await db
    .mldb()
    .insertFolder(dir, { table: 'three_threads', create: true, shape: { channels: 1 }, threads: 3 });
  const comparable = (s: typeof one) => ({ ...s, table: null, seconds: null, imagesPerSecond: null });
  expect(comparable(many)).toEqual(comparable(one));
  expect(one.imported).toBe(692);
  expect(one.rejected.map((r) => path.basename(r.path)).sort()).toEqual(['corrupt.png', 'empty.png']);
  expect(one.conflicts).toHaveLength(1);

  const conn = await db.mldb().connection();
  const rows = (table: string) =>
    conn.query<Record<string, unknown>>(
      'SELECT id, label, split, sha256, source, format, orig_width, orig_height, original, pixels ' +
        `FROM ${table} ORDER BY id`,
    );
  const [a, b] = await Promise.all([rows('one_thread'), rows('three_threads')]);
  expect(b.length).toBe(a.length);
  expect(b).toEqual(a);
  const findings = (table: string) =>
    conn.query(
      'SELECT kind, source, label, kept_source, kept_label FROM mldb_import_findings WHERE dataset = ? ORDER BY id',
      [table],
    );
  const [fa, fb] = await Promise.all([findings('one_thread'), findings('three_threads')]);
  expect(fa).toHaveLength(2);
  expect(fb).toEqual(fa);
});

test('MLDB_IMPORT_THREADS is checked by name', () => {
  expect(importThreads({ MLDB_IMPORT_THREADS: '3' }, '/nonexistent')).toBe(3);
  for (const bad of ['0', '1.5', 'many', '257'])
    expect(() => importThreads({ MLDB_IMPORT_THREADS: bad }, '/nonexistent')).toThrow(/^MLDB_IMPORT_THREADS must be/);
});
