import type { ImageShape, RowFilter } from '../db/datasets';
import { whereClause } from '../db/datasets';
import { escapeId } from '../db/identifiers';
import type { Db } from '../db/pool';
import type { Split } from '../db/schema';
import { InvalidDataError } from '../errors';

/** Rows per keyset page: large enough to amortise round trips, small enough to stay streaming. */
export const PAGE_ROWS = 2000;

export type PixelFilter = Omit<RowFilter, 'afterId' | 'limit'>;

export interface PixelRow {
  id: number;
  label: string;
  split: Split;
  sha256: Buffer;
  pixels: Buffer;
}

/**
 * Reads `columns` of (filtered) rows in id order by keyset paging: `WHERE id > ? ORDER BY id
 * LIMIT n`, never OFFSET, so each page costs the same however deep it is. No image is decoded.
 */
export async function* keysetPages<T extends { id: number }>(
  db: Db,
  table: string,
  columns: readonly string[],
  filter: PixelFilter = {},
  pageRows = PAGE_ROWS,
  ids?: { min: number; max: number },
): AsyncGenerator<T[]> {
  let afterId = ids ? ids.min - 1 : 0;
  const select = columns.map(escapeId).join(', ');
  for (;;) {
    const { sql, params } = whereClause({ ...filter, afterId });
    const bound = ids ? `${sql ? ' AND' : ' WHERE'} id <= ?` : '';
    const rows = await db.query<T>(`SELECT ${select} FROM ${escapeId(table)} ${sql}${bound} ORDER BY id LIMIT ?`, [
      ...params,
      ...(ids ? [ids.max] : []),
      pageRows,
    ]);
    if (rows.length === 0) return;
    yield rows;
    afterId = Number(rows[rows.length - 1].id);
    if (rows.length < pageRows) return;
  }
}

/** Stored pixels with their identity, page by page. */
export function pixelPages(
  db: Db,
  table: string,
  filter: PixelFilter = {},
  pageRows = PAGE_ROWS,
  ids?: { min: number; max: number },
): AsyncGenerator<PixelRow[]> {
  return keysetPages<PixelRow>(db, table, ['id', 'label', 'split', 'sha256', 'pixels'], filter, pageRows, ids);
}

/** Which rows, without their pixels: what streaming needs to plan an epoch. */
export interface RowIndex {
  ids: number[];
  labels: string[];
  /** Content hashes in row order: the fingerprint of exactly the rows used. */
  hashes: Buffer[];
  count: number;
}

export interface PixelMatrix extends RowIndex {
  /** N × H × W × C floats in [0, 1]. */
  xs: Float32Array;
}

export function checkPixelLength(table: string, id: number, pixels: Buffer, per: number): void {
  if (pixels.length !== per) {
    throw new InvalidDataError(
      `row ${id} of "${table}" has ${pixels.length} pixel bytes, expected ${per}`,
      'the table is damaged: re-import it',
    );
  }
}

/** What scalePixels multiplies by, as recorded in a model's metadata. */
export const PIXEL_SCALE = 1 / 255;

/**
 * Scales stored bytes to floats in [0, 1] at `out[offset…]`: the only preprocessing training does,
 * and the one predict applies to a decoded file (x / 255, not x × (1/255): they differ in the last bit).
 */
export function scalePixels(pixels: Uint8Array, out: Float32Array, offset: number): void {
  for (let k = 0; k < pixels.length; k++) out[offset + k] = pixels[k] / 255;
}

/** Ids, labels and hashes of the (filtered) rows, by keyset paging, without the BLOBs. */
export async function readRowIndex(db: Db, table: string, filter: PixelFilter): Promise<RowIndex> {
  const index: RowIndex = { ids: [], labels: [], hashes: [], count: 0 };
  for await (const page of keysetPages<{ id: number; label: string; sha256: Buffer }>(
    db,
    table,
    ['id', 'label', 'sha256'],
    filter,
    20000,
  )) {
    for (const row of page) {
      index.ids.push(Number(row.id));
      index.labels.push(row.label);
      index.hashes.push(row.sha256);
    }
  }
  index.count = index.ids.length;
  return index;
}

/** How many (filtered) rows there are. */
export async function countRows(db: Db, table: string, filter: PixelFilter): Promise<number> {
  const { sql, params } = whereClause(filter);
  const [{ n }] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${escapeId(table)} ${sql}`, params);
  return Number(n);
}

/**
 * The whole (filtered) table as one Float32 buffer, tensor-ready: the fast path for small data.
 * `knownCount` saves the COUNT when the caller has just made it.
 */
export async function readPixelMatrix(
  db: Db,
  table: string,
  shape: ImageShape,
  filter: PixelFilter,
  knownCount?: number,
): Promise<PixelMatrix> {
  const per = shape.height * shape.width * shape.channels;
  const count = knownCount ?? (await countRows(db, table, filter));
  const xs = new Float32Array(count * per);
  const labels: string[] = [];
  const ids: number[] = [];
  const hashes: Buffer[] = [];
  let i = 0;
  for await (const page of pixelPages(db, table, filter)) {
    for (const row of page) {
      if (i >= count) break; // rows added after the COUNT: ignore, the matrix is a snapshot
      checkPixelLength(table, row.id, row.pixels, per);
      scalePixels(row.pixels, xs, i * per);
      labels.push(row.label);
      ids.push(Number(row.id));
      hashes.push(row.sha256);
      i++;
    }
  }
  return { xs: i === count ? xs : xs.subarray(0, i * per), labels, ids, hashes, count: i };
}
