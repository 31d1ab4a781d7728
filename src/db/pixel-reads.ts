import type { Db, Queryable } from './db';
import { escapeId } from './identifiers';
import type { Split } from './schema';
import { keysetPages, PAGE_ROWS, pageQuery, tableRef, whereClause, type PixelFilter } from './row-selection';
import { removedPixels, versionSource } from './version-reads';

/** Reading stored images (pixels, originals, indexes) in id order, page by page or by id. */

/** A row as the bulk reader takes it: [id, label, sha256, pixels], no object per row. */
export type PixelTuple = [id: number, label: string, sha256: Buffer, pixels: Buffer];

/**
 * Pixel rows in id order, as arrays, page by page; each next page is asked for before the current
 * one is handed over, so the server reads it while the caller converts this one. Reads
 * `afterId < id <= maxId` (and the filter's label and split) on any Queryable: the pool, one of
 * its connections, or a shard's backend.
 */
export async function* pixelTuplePages(
  q: Queryable,
  table: string,
  filter: PixelFilter & { afterId?: number },
  pageRows = PAGE_ROWS,
  partition?: string,
): AsyncGenerator<PixelTuple[]> {
  const page = (afterId: number) => {
    const { sql, params } = pageQuery(table, 'id, label, sha256, pixels', { ...filter, afterId }, pageRows, partition);
    return q.queryArrays(sql, params) as Promise<PixelTuple[]>;
  };
  let next = page(filter.afterId ?? 0);
  for (;;) {
    const rows = await next;
    if (rows.length === 0) return;
    const more = rows.length === pageRows;
    if (more) next = page(Number(rows[rows.length - 1][0]));
    // Keep a prefetch that is never awaited (the caller stopped early) from being unhandled.
    if (more) next.catch(() => undefined);
    for (const r of rows) r[0] = Number(r[0]);
    yield rows;
    if (!more) return;
  }
}

/** The (filtered) rows' ids in ascending order, with their labels. */
export interface RowKeys {
  ids: number[];
  labels: string[];
}

/** Ids and labels of the (filtered) rows from an index alone: where each row goes in a bulk read. */
export async function rowKeys(q: Queryable, table: string, filter: PixelFilter, partition?: string): Promise<RowKeys> {
  if (filter.asOf !== undefined) return versionKeys(q, table, filter);
  const { sql, params } = whereClause(filter);
  // ix_split_label holds split, label and id: ids and labels come from it alone, never from the
  // rows (whose BLOBs make a primary-key scan read the whole table). Sorted here, not by the server.
  const from = tableRef(table, partition) + ' FORCE INDEX (ix_split_label)';
  const rows = (await q.queryArrays(`SELECT id, label FROM ${from} ${sql}`, params)) as Array<[unknown, string]>;
  const order = Array.from(rows.keys());
  const id = rows.map((r) => Number(r[0]));
  order.sort((a, b) => id[a] - id[b]);
  return { ids: order.map((i) => id[i]), labels: order.map((i) => rows[i][1]) };
}

/** rowKeys of an old version: its rows' ids and labels as they were (no index holds them all). */
async function versionKeys(q: Queryable, table: string, filter: PixelFilter): Promise<RowKeys> {
  const source = versionSource(table, filter.asOf, { withSource: filter.sources !== undefined });
  const { sql, params } = whereClause({ ...filter, asOf: undefined });
  const rows = (await q.queryArrays(`SELECT id, label FROM ${source.sql} ${sql} ORDER BY id`, [
    ...source.params,
    ...params,
  ])) as Array<[unknown, string]>;
  return { ids: rows.map((r) => Number(r[0])), labels: rows.map((r) => r[1]) };
}

/** A span of rows concatenated by the server: ids, then every row's hash and pixels end to end. */
export interface ConcatenatedRows {
  ids: number[];
  /** 32 bytes per row, in the order of `ids`. */
  hashes: Buffer;
  /** The rows' pixels end to end, in the order of `ids` (equal lengths in an intact table). */
  pixels: Buffer;
}

/**
 * The rows of one id span (`afterId` < id ≤ `maxId`) as three values of one result row. The rows
 * leave the server as one packet instead of a packet and a parsed row each: a bulk read of 60,000
 * 28×28 rows went from 231,000 rows/s (array rows) to 317,000 (`npm run bench -- shards`). Every
 * GROUP_CONCAT of one statement walks the same rows in the same order, so the ids say which row
 * each hash and pixel span belongs to. Run it inside withConcatLimit, with spans well under the
 * limit (a longer result would be cut short).
 */
export async function concatenatedRows(
  q: Queryable,
  table: string,
  filter: PixelFilter & { afterId?: number },
  partition?: string,
): Promise<ConcatenatedRows> {
  const { sql, params } = whereClause(filter);
  const [row] = (await q.queryArrays(
    `SELECT GROUP_CONCAT(id), GROUP_CONCAT(sha256 SEPARATOR ''), GROUP_CONCAT(pixels SEPARATOR '') ` +
      `FROM ${tableRef(table, partition)} ${sql}`,
    params,
  )) as Array<[Buffer | string | null, Buffer | null, Buffer | null]>;
  if (!row || row[0] === null) return { ids: [], hashes: Buffer.alloc(0), pixels: Buffer.alloc(0) };
  return { ids: String(row[0]).split(',').map(Number), hashes: row[1]!, pixels: row[2]! };
}

/**
 * Runs `fn` with this session's GROUP_CONCAT limit raised to max_allowed_packet (the most one
 * result row may carry), restoring the default afterwards: `session` must be one connection (a
 * pool's session or a backend's). Gives `fn` that limit, to size its spans under it.
 */
export async function withConcatLimit<T>(session: Queryable, fn: (limit: number) => Promise<T>): Promise<T> {
  const [[packet]] = await session.queryArrays('SELECT @@max_allowed_packet');
  await session.run('SET SESSION group_concat_max_len = ?', [Number(packet)]);
  try {
    return await fn(Number(packet));
  } finally {
    await session.run('SET SESSION group_concat_max_len = DEFAULT').catch(() => undefined);
  }
}

export interface PixelRow {
  id: number;
  label: string;
  split: Split;
  sha256: Buffer;
  pixels: Buffer;
}

/** Stored pixels with their identity, page by page: what training and evaluation read. */
export function pixelPages(
  db: Db,
  table: string,
  filter: PixelFilter = {},
  pageRows = PAGE_ROWS,
): AsyncGenerator<PixelRow[]> {
  return keysetPages<PixelRow>(db, table, 'id, label, split, sha256, pixels', filter, pageRows);
}

/** Which rows, without their BLOBs: what streaming needs to plan an epoch. */
export function indexPages(
  db: Db,
  table: string,
  filter: PixelFilter = {},
): AsyncGenerator<{ id: number; label: string; sha256: Buffer }[]> {
  return keysetPages(db, table, 'id, label, sha256', filter, 20_000);
}

export interface OriginalRow {
  id: number;
  label: string;
  source: string;
  sha256: Buffer;
  original: Buffer;
}

/** Each row's exact file bytes, page by page: what export writes. */
export function originalPages(db: Queryable, table: string, filter: PixelFilter = {}): AsyncGenerator<OriginalRow[]> {
  return keysetPages<OriginalRow>(db, table, 'id, label, source, sha256, original', filter, 500);
}

/**
 * Pixels of the given rows by primary key; a row that is gone is absent from the map. Reading an
 * old version (`asOf`), a row removed since is read from its history row.
 */
export async function pixelsByIds(
  q: Queryable,
  table: string,
  ids: readonly number[],
  asOf?: number,
): Promise<Map<number, Buffer>> {
  if (ids.length === 0) return new Map();
  const rows = await q.query<{ id: number; pixels: Buffer }>(
    `SELECT id, pixels FROM ${escapeId(table)} WHERE id IN (?)`,
    [ids],
  );
  const found = new Map(rows.map((r) => [Number(r.id), r.pixels]));
  if (asOf === undefined || found.size === ids.length) return found;
  const removed = await removedPixels(
    q,
    table,
    ids.filter((id) => !found.has(id)),
  );
  for (const [id, pixels] of removed) found.set(id, pixels);
  return found;
}

/** One row's stored pixels and content hash, or undefined when there is no such row. */
export async function rowPixels(
  db: Db,
  table: string,
  id: number,
): Promise<{ sha256: Buffer | null; pixels: Buffer | null } | undefined> {
  // Both are NOT NULL as mldb creates the table; a damaged or altered table may still hold NULLs.
  const [row] = await db.query<{ sha256: Buffer | null; pixels: Buffer | null }>(
    `SELECT sha256, pixels FROM ${escapeId(table)} WHERE id = ?`,
    [id],
  );
  return row;
}
