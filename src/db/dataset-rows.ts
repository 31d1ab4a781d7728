import { UsageError } from '../errors';
import { compareLabels } from '../labels';
import type { Db, Queryable } from './db';
import { escapeId } from './identifiers';
import { shardOf } from './sharding';
import { createDatasetTableSql, SPLITS, type Split } from './schema';

/**
 * Every statement on a dataset table (one table per dataset, see schema.ts). Callers pass a
 * name the registry has validated; it is always quoted, and every value is a `?` parameter.
 */

export interface RowFilter {
  label?: string;
  split?: Split;
  limit?: number;
  afterId?: number;
  /** Only rows with id ≤ maxId: the rows a training run started with (the table may keep growing). */
  maxId?: number;
}

/** A filter over whole rows: which label and split, up to which id; never a page. */
export type PixelFilter = Omit<RowFilter, 'afterId' | 'limit'>;

/** Rows per keyset page: large enough to amortise round trips, small enough to stay streaming. */
export const PAGE_ROWS = 2000;

export function validateSplit(split: string | undefined): Split | undefined {
  if (split === undefined) return undefined;
  if (!(SPLITS as readonly string[]).includes(split)) {
    throw new UsageError(`unknown split "${split}"`, `use one of ${SPLITS.join(', ')}`, { field: 'split' });
  }
  return split as Split;
}

/** The WHERE clause shared by every read; values are parameters. */
function whereClause(filter: RowFilter): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    parts.push(sql);
    params.push(value);
  };
  if (filter.afterId !== undefined) add('id > ?', filter.afterId);
  if (filter.maxId !== undefined) add('id <= ?', filter.maxId);
  if (filter.label !== undefined) add('label = ?', filter.label);
  if (filter.split !== undefined) add('split = ?', validateSplit(filter.split));
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

export async function datasetTableExists(db: Db, name: string): Promise<boolean> {
  const rows = await db.query(
    'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    [name],
  );
  return rows.length > 0;
}

export async function createDatasetTable(db: Db, name: string): Promise<void> {
  await db.run(createDatasetTableSql(name));
}

export async function dropDatasetTable(db: Db, name: string): Promise<void> {
  await db.run(`DROP TABLE IF EXISTS ${escapeId(name)}`);
}

/** Rows, distinct labels, stored bytes and files per format: one scan for `tables` and `show`. */
export async function tableStats(
  db: Db,
  table: string,
): Promise<{
  rows: number;
  labels: number;
  originalBytes: number;
  pixelBytes: number;
  formats: Record<string, number>;
}> {
  const t = escapeId(table);
  const [c] = await db.query<{ n: number; labels: number; o: string | null; p: string | null }>(
    `SELECT COUNT(*) AS n, COUNT(DISTINCT label) AS labels, SUM(LENGTH(original)) AS o, SUM(LENGTH(pixels)) AS p
     FROM ${t}`,
  );
  const formats = await db.query<{ format: string; n: number }>(
    `SELECT format, COUNT(*) AS n FROM ${t} GROUP BY format`,
  );
  return {
    rows: Number(c.n),
    labels: Number(c.labels),
    originalBytes: Number(c.o ?? 0),
    pixelBytes: Number(c.p ?? 0),
    formats: Object.fromEntries(formats.map((f) => [f.format, Number(f.n)])),
  };
}

/**
 * Rows and distinct labels from the label index alone, and the bytes the server reports for the
 * table (an estimate, 0 when it cannot say, as through a Spider head): what a listing needs,
 * without the full scan of every BLOB that tableStats' exact byte counts take.
 */
export async function quickTableStats(
  db: Db,
  table: string,
): Promise<{ rows: number; labels: number; approxBytes: number }> {
  const [c] = await db.query<{ n: number; labels: number }>(
    `SELECT COUNT(*) AS n, COUNT(DISTINCT label) AS labels FROM ${escapeId(table)} FORCE INDEX (ix_label)`,
  );
  const [size] = await db.query<{ bytes: number | null }>(
    'SELECT DATA_LENGTH AS bytes FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    [table],
  );
  return { rows: Number(c.n), labels: Number(c.labels), approxBytes: Number(size?.bytes ?? 0) };
}

/** The largest row id (0 for an empty table): what a training run pins as its row set. */
/** The lowest and highest id (of one partition through a head): the bounds of a bulk read's spans. */
export async function idBounds(q: Queryable, table: string, partition?: string): Promise<{ min: number; max: number }> {
  const [[min, max]] = await q.queryArrays(`SELECT MIN(id), MAX(id) FROM ${tableRef(table, partition)}`);
  return { min: Number(min ?? 0), max: Number(max ?? -1) };
}

export async function maxRowId(db: Db, table: string): Promise<number> {
  const [row] = await db.query<{ m: number | null }>(`SELECT MAX(id) AS m FROM ${escapeId(table)}`);
  return Number(row?.m ?? 0);
}

export async function labelSplitCounts(
  db: Db,
  table: string,
): Promise<{ label: string; split: Split; rows: number }[]> {
  const rows = await db.query<{ label: string; split: Split; n: number }>(
    `SELECT label, split, COUNT(*) AS n FROM ${escapeId(table)} GROUP BY label, split`,
  );
  return rows.map((r) => ({ label: r.label, split: r.split, rows: Number(r.n) }));
}

/** Rows per split, every split present (0 when empty). */
export async function splitCounts(db: Db, table: string, filter: PixelFilter = {}): Promise<Record<Split, number>> {
  const counts: Record<Split, number> = { train: 0, validation: 0, test: 0 };
  const { sql, params } = whereClause(filter);
  const rows = await db.query<{ split: Split; n: number }>(
    `SELECT split, COUNT(*) AS n FROM ${escapeId(table)} ${sql} GROUP BY split`,
    params,
  );
  for (const r of rows) counts[r.split] = Number(r.n);
  return counts;
}

/** Every label of the table in class-index order (numbers sorted as numbers). */
export async function labels(db: Db, table: string, filter: PixelFilter = {}): Promise<string[]> {
  const { sql, params } = whereClause(filter);
  const rows = await db.query<{ label: string }>(`SELECT DISTINCT label FROM ${escapeId(table)} ${sql}`, params);
  return rows.map((r) => r.label).sort(compareLabels);
}

/** How many (filtered) rows there are. */
export async function countRows(db: Db, table: string, filter: PixelFilter = {}): Promise<number> {
  const { sql, params } = whereClause(filter);
  const [{ n }] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${escapeId(table)} ${sql}`, params);
  return Number(n);
}

/**
 * The one paging loop: `select` of (filtered) rows in id order by keyset paging — `WHERE id > ?
 * ORDER BY id LIMIT n`, never OFFSET, so each page costs the same however deep it is. `select`
 * is one of this module's constant column lists, never user input.
 */
async function* keysetPages<T extends { id: number }>(
  db: Queryable,
  table: string,
  select: string,
  filter: PixelFilter & { afterId?: number },
  pageRows: number,
): AsyncGenerator<T[]> {
  let afterId = filter.afterId ?? 0;
  for (;;) {
    const { sql, params } = whereClause({ ...filter, afterId });
    const rows = await db.query<T>(`SELECT ${select} FROM ${escapeId(table)} ${sql} ORDER BY id LIMIT ?`, [
      ...params,
      pageRows,
    ]);
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < pageRows) return;
    afterId = Number(rows[rows.length - 1].id);
  }
}

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
  const from = tableRef(table, partition);
  const page = (afterId: number) => {
    const { sql, params } = whereClause({ ...filter, afterId });
    return q.queryArrays(`SELECT id, label, sha256, pixels FROM ${from} ${sql} ORDER BY id LIMIT ?`, [
      ...params,
      pageRows,
    ]) as Promise<PixelTuple[]>;
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

/** A table, or one partition of a sharded table through its head (that shard's rows only). */
function tableRef(table: string, partition?: string): string {
  return escapeId(table) + (partition ? ` PARTITION (${escapeId(partition)})` : '');
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

export interface RowSummary {
  id: number;
  label: string;
  split: Split;
  source: string;
  sha256: string;
  format: string;
  bytes: number;
}

/** The original's AcquireData, without the BLOBs: one page of rows after `afterId`. */
export async function listRows(db: Db, table: string, filter: RowFilter = {}): Promise<RowSummary[]> {
  const limit = filter.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new UsageError(`limit must be a positive integer, got ${limit}`, undefined, { field: 'limit' });
  }
  type Stored = Omit<RowSummary, 'sha256'> & { sha256: Buffer };
  const pages = keysetPages<Stored>(
    db,
    table,
    'id, label, split, source, sha256, format, LENGTH(original) AS bytes',
    filter,
    limit,
  );
  const first = await pages.next();
  await pages.return(undefined);
  const page: Stored[] = first.value ?? [];
  return page.map((r) => ({
    ...r,
    id: Number(r.id),
    sha256: r.sha256.toString('hex'),
    bytes: Number(r.bytes),
  }));
}

/** Pixels of the given rows by primary key; a row that is gone is absent from the map. */
export async function pixelsByIds(q: Queryable, table: string, ids: readonly number[]): Promise<Map<number, Buffer>> {
  if (ids.length === 0) return new Map();
  const rows = await q.query<{ id: number; pixels: Buffer }>(
    `SELECT id, pixels FROM ${escapeId(table)} WHERE id IN (?)`,
    [ids],
  );
  return new Map(rows.map((r) => [Number(r.id), r.pixels]));
}

/** Label and source of the rows whose content hash is among `hashes`, keyed by hex hash. */
export type KnownHashes = Map<string, { label: string; source: string }>;

export async function knownHashes(q: Queryable, table: string, hashes: readonly Buffer[]): Promise<KnownHashes> {
  if (hashes.length === 0) return new Map();
  const rows = await q.query<{ sha256: Buffer; label: string; source: string }>(
    `SELECT sha256, label, source FROM ${escapeId(table)} WHERE sha256 IN (?)`,
    [hashes],
  );
  return new Map(rows.map((r) => [r.sha256.toString('hex'), { label: r.label, source: r.source }]));
}

/** One image ready to store: its file bytes, identity and pixels at the dataset's shape. */
export interface NewRow {
  label: string;
  split: Split;
  sha256: Buffer;
  source: string;
  format: string;
  width: number;
  height: number;
  original: Buffer;
  pixels: Uint8Array;
}

/** Per-row bytes of SQL around the BLOBs (label, source, punctuation): for sizing batches. */
export const ROW_SQL_OVERHEAD = 1200;

/**
 * One multi-row INSERT: atomic, so a killed import leaves whole batches only. A row whose hash
 * is already stored (a concurrent import of the same file) is skipped, not an error. Returns
 * how many rows were new.
 */
export async function insertRows(
  q: Queryable,
  table: string,
  rows: readonly NewRow[],
  ids?: readonly number[],
): Promise<number> {
  if (rows.length === 0) return 0;
  // A sharded table's rows carry the ids reserved for them and their shard (db/shard-writes.ts).
  const values = rows.map((r, i) => [
    ...(ids ? [ids[i], shardOf(r.sha256)] : []),
    r.label,
    r.split,
    r.sha256,
    r.source,
    r.format,
    r.width,
    r.height,
    r.original,
    Buffer.from(r.pixels.buffer, r.pixels.byteOffset, r.pixels.byteLength),
  ]);
  const res = await q.run(
    `INSERT INTO ${escapeId(table)} (${ids ? 'id, shard, ' : ''}label, split, sha256, source, format, orig_width,
       orig_height, original, pixels)
     VALUES ? ON DUPLICATE KEY UPDATE id = id`,
    [values],
  );
  return res.affectedRows;
}

/** A stored image as the dashboard lists it: identity and origin, not its BLOBs. */
export interface ImageListing {
  id: number;
  label: string;
  split: Split;
  sha256: string;
  source: string;
  format: string;
  width: number;
  height: number;
}

/**
 * One page of a table's images in id order after `afterId` (keyset: every page costs the same,
 * however deep). A label, with or without a split, walks ix_label or ix_split_label; a split alone
 * walks ix_split_label, whose rows are (split, label, id): fine for a page, as the scan stops at
 * `limit` matches.
 */
export async function imagePage(
  db: Db,
  table: string,
  filter: { label?: string; split?: Split; afterId?: number },
  limit: number,
): Promise<ImageListing[]> {
  const { sql, params } = whereClause({ label: filter.label, split: filter.split, afterId: filter.afterId ?? 0 });
  const rows = await db.query<Record<string, unknown>>(
    `SELECT id, label, split, sha256, source, format, orig_width, orig_height FROM ${escapeId(table)} ${sql} ` +
      'ORDER BY id LIMIT ?',
    [...params, limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    label: r.label as string,
    split: r.split as Split,
    sha256: (r.sha256 as Buffer).toString('hex'),
    source: r.source as string,
    format: r.format as string,
    width: Number(r.orig_width),
    height: Number(r.orig_height),
  }));
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
