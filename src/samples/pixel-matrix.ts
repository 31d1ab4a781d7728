import { indexPages } from '../db/pixel-reads';
import { type PixelFilter } from '../db/row-selection';
import { readPixelRows, readScaledRows } from './bulk-read';
import { SCALED } from './scaled';
import type { Db } from '../db/db';
import { valuesPerImage, type ImageShape } from '../image-shape';

/** Which rows, without their pixels: what streaming needs to plan an epoch. */
export interface RowIndex {
  ids: number[];
  labels: string[];
  /** Content hashes in row order: the fingerprint of exactly the rows used. */
  hashes: Buffer[];
  count: number;
}

/**
 * The rows a model trains on, held in memory as stored: N × H × W × C bytes. Batches are scaled
 * to floats when they are taken (scaleRows), so loading is a copy and memory a quarter of floats.
 */
export interface PixelMatrix extends RowIndex {
  pixels: Uint8Array;
}

/** Rows `positions` of a matrix as floats in [0, 1], one after the other (a batch). */
export function scaleRows(matrix: PixelMatrix, positions: ArrayLike<number>, per: number): Float32Array {
  const xs = new Float32Array(positions.length * per);
  const src = matrix.pixels;
  for (let i = 0; i < positions.length; i++) {
    const from = positions[i] * per;
    const to = i * per;
    for (let k = 0; k < per; k++) xs[to + k] = SCALED[src[from + k]];
  }
  return xs;
}

export { checkPixelLength } from './bulk-read';

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
  for await (const page of indexPages(db, table, filter)) {
    for (const row of page) {
      index.ids.push(Number(row.id));
      index.labels.push(row.label);
      index.hashes.push(row.sha256);
    }
  }
  index.count = index.ids.length;
  return index;
}

/**
 * The whole (filtered) table in memory as stored bytes (batches are scaled to floats as they are
 * taken): the fast path when the rows fit the memory budget.
 * Rows are read in parallel (bulk-read.ts: id spans on one server, every backend of a sharded
 * table) and come back in id order, so the matrix is the same however it was read.
 * `knownCount` caps the rows taken (a snapshot: rows added after the count are left out).
 */
export async function readPixelMatrix(
  db: Db,
  table: string,
  shape: ImageShape,
  filter: PixelFilter,
  knownCount?: number,
  parallelism?: number,
): Promise<PixelMatrix> {
  const rows = await readPixelRows(db, table, filter, valuesPerImage(shape), { parallelism, limit: knownCount });
  return { pixels: rows.pixels, labels: rows.labels, ids: rows.ids, hashes: rows.hashes, count: rows.count };
}

/** Rows → one Float32 buffer: the whole (filtered) table scaled to [0, 1], read as readPixelMatrix reads. */
export async function readScaledMatrix(
  db: Db,
  table: string,
  shape: ImageShape,
  filter: PixelFilter,
  parallelism?: number,
): Promise<RowIndex & { xs: Float32Array }> {
  const rows = await readScaledRows(db, table, filter, valuesPerImage(shape), { parallelism });
  return { xs: rows.pixels, labels: rows.labels, ids: rows.ids, hashes: rows.hashes, count: rows.count };
}
