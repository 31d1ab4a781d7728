import { pixelPages } from '../../src/db/pixel-reads';
import { type PixelFilter } from '../../src/db/row-selection';
import { readPixelRows, readScaledRows } from '../../src/samples/bulk-read';
import { freshDatabase } from '../helpers/db';
import { evenLabels, makeLabeledFolder } from '../helpers/fixtures';

const db = freshDatabase();
afterAll(() => db.cleanup());

const PER = 8 * 8; // makeLabeledFolder's 8×8 gray images
const TABLE = 'bulk';

/** What the bulk reader must equal: every row as an object, one connection, in id order. */
async function rowByRow(filter: PixelFilter) {
  const db_ = await db.mldb(TABLE).connection();
  const rows = [];
  for await (const page of pixelPages(db_, TABLE, filter)) rows.push(...page);
  return {
    ids: rows.map((r) => r.id),
    labels: rows.map((r) => r.label),
    hashes: rows.map((r) => r.sha256.toString('hex')),
    pixels: Buffer.concat(rows.map((r) => r.pixels)),
  };
}

describe('bulk read: spans concatenated by the server, read in parallel', () => {
  let maxId = 0;
  beforeAll(async () => {
    const m = db.mldb(TABLE);
    await m.insertFolder(makeLabeledFolder(evenLabels(4, 60)), { create: true });
    const conn = await m.connection();
    // Holes in the ids, as deletes leave them: spans must not assume dense ids.
    await conn.run(`DELETE FROM ${TABLE} WHERE id % 7 = 3`);
    maxId = Number((await conn.queryArrays(`SELECT MAX(id) FROM ${TABLE}`))[0][0]);
  });

  const filters: Array<[string, () => PixelFilter]> = [
    ['every row', () => ({})],
    ['one split', () => ({ split: 'train' })],
    ['one label', () => ({ label: 'l2' })],
    ['a snapshot (ids up to a bound)', () => ({ maxId: Math.floor(maxId / 2) })],
  ];
  for (const [what, filter] of filters) {
    test(`${what}: the same ids, labels, hashes and bytes in the same order as row by row`, async () => {
      const expected = await rowByRow(filter());
      expect(expected.ids.length).toBeGreaterThan(10);
      const conn = await db.mldb(TABLE).connection();
      // One reader with whole spans, and three readers with spans of a few rows each.
      for (const options of [{ parallelism: 1 }, { parallelism: 3, spanBytes: 5 * (PER + 53) }]) {
        const got = await readPixelRows(conn, TABLE, filter(), PER, options);
        expect(got.count).toBe(expected.ids.length);
        expect(got.ids).toEqual(expected.ids);
        expect(got.labels).toEqual(expected.labels);
        expect(got.hashes.map((h) => h.toString('hex'))).toEqual(expected.hashes);
        expect(Buffer.from(got.pixels).equals(expected.pixels)).toBe(true);
        // As floats: the same rows, each value the byte divided by 255 (what training feeds the model).
        const scaled = await readScaledRows(conn, TABLE, filter(), PER, options);
        expect(scaled.ids).toEqual(expected.ids);
        expect(scaled.labels).toEqual(expected.labels);
        expect(scaled.hashes.map((h) => h.toString('hex'))).toEqual(expected.hashes);
        expect(scaled.pixels).toEqual(Float32Array.from(expected.pixels, (v) => v / 255));
      }
    });
  }

  test('a limit keeps the first rows', async () => {
    const conn = await db.mldb(TABLE).connection();
    const all = await rowByRow({});
    const got = await readPixelRows(conn, TABLE, {}, PER, { parallelism: 2, spanBytes: 1000, limit: 17 });
    expect(got.ids).toEqual(all.ids.slice(0, 17));
    expect(Buffer.from(got.pixels).equals(all.pixels.subarray(0, 17 * PER))).toBe(true);
    const scaled = await readScaledRows(conn, TABLE, {}, PER, { parallelism: 2, spanBytes: 1000, limit: 17 });
    expect(scaled.pixels).toEqual(Float32Array.from(all.pixels.subarray(0, 17 * PER), (v) => v / 255));
  });

  test('a row whose pixels are not the table shape is named, not read past', async () => {
    const m = db.mldb(TABLE);
    const conn = await m.connection();
    const [[id]] = await conn.queryArrays(`SELECT id FROM ${TABLE} ORDER BY id LIMIT 1 OFFSET 20`);
    await conn.run(`UPDATE ${TABLE} SET pixels = SUBSTRING(pixels, 1, 10) WHERE id = ?`, [id]);
    for (const read of [readPixelRows, readScaledRows]) {
      await expect(read(conn, TABLE, {}, PER, { parallelism: 2, spanBytes: 2000 })).rejects.toMatchObject({
        message: `row ${Number(id)} of "${TABLE}" has 10 pixel bytes, expected ${PER}`,
      });
    }
  });
});
