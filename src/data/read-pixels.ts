import type { ImageShape, RowFilter } from '../db/datasets';
import { whereClause } from '../db/datasets';
import { escapeId } from '../db/identifiers';
import type { Db } from '../db/pool';
import type { Split } from '../db/schema';
import { InvalidDataError } from '../errors';

/** Rows per keyset page: large enough to amortise round trips, small enough to stay streaming. */
export const PAGE_ROWS = 2000;

export interface PixelRow {
  id: number;
  label: string;
  split: Split;
  sha256: Buffer;
  pixels: Buffer;
}

/**
 * Reads the stored pixels of (filtered) rows in id order by keyset paging: `WHERE id > ? ORDER BY
 * id LIMIT n`, never OFFSET, so each page costs the same however deep it is. No image is decoded.
 */
export async function* pixelPages(db: Db, table: string, filter: Omit<RowFilter, 'afterId' | 'limit'> = {}, pageRows = PAGE_ROWS, ids?: { min: number; max: number }): AsyncGenerator<PixelRow[]> {
  let afterId = ids ? ids.min - 1 : 0;
  for (;;) {
    const { sql, params } = whereClause({ ...filter, afterId });
    const bound = ids ? `${sql ? ' AND' : ' WHERE'} id <= ?` : '';
    const rows = await db.query<PixelRow>(
      `SELECT id, label, split, sha256, pixels FROM ${escapeId(table)} ${sql}${bound} ORDER BY id LIMIT ?`,
      [...params, ...(ids ? [ids.max] : []), pageRows],
    );
    if (rows.length === 0) return;
    yield rows;
    afterId = Number(rows[rows.length - 1].id);
    if (rows.length < pageRows) return;
  }
}

export interface PixelMatrix {
  /** N × H × W × C floats in [0, 1]. */
  xs: Float32Array;
  labels: string[];
  ids: number[];
  /** Content hashes in row order: the fingerprint of exactly the rows used. */
  hashes: Buffer[];
  count: number;
}

/** The whole (filtered) table as one Float32 buffer, tensor-ready: the fast path for small data. */
export async function readPixelMatrix(db: Db, table: string, shape: ImageShape, filter: Omit<RowFilter, 'afterId' | 'limit'>): Promise<PixelMatrix> {
  const { sql, params } = whereClause(filter);
  const [{ n }] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${escapeId(table)} ${sql}`, params);
  const per = shape.height * shape.width * shape.channels;
  const count = Number(n);
  const xs = new Float32Array(count * per);
  const labels: string[] = [];
  const ids: number[] = [];
  const hashes: Buffer[] = [];
  let i = 0;
  for await (const page of pixelPages(db, table, filter)) {
    for (const row of page) {
      if (i >= count) break; // rows added after the COUNT: ignore, the matrix is a snapshot
      if (row.pixels.length !== per) {
        throw new InvalidDataError(`row ${row.id} of "${table}" has ${row.pixels.length} pixel bytes, expected ${per}`, 'the table is damaged: re-import it');
      }
      const base = i * per;
      const px = row.pixels;
      for (let k = 0; k < per; k++) xs[base + k] = px[k] / 255;
      labels.push(row.label);
      ids.push(Number(row.id));
      hashes.push(row.sha256);
      i++;
    }
  }
  return { xs: i === count ? xs : xs.subarray(0, i * per), labels, ids, hashes, count: i };
}
