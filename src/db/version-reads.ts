import type { Queryable } from './db';
import { escapeId } from './identifiers';
import { globToLike } from './glob-like';
import type { Split } from './schema';
import { ROW_HISTORY_TABLE } from './version-schema';

/**
 * Reading an old version of a dataset table (docs/curation.md): the rows unchanged since it (the
 * table's rows with `version` ≤ N, which whereClause selects) and the history rows valid at it
 * (`valid_from` ≤ N < `valid_to`: label and split as they were; the bytes from the table by id, or
 * from the removed row's own history row). Only old reads come here: a current read never joins.
 */

const HISTORY = escapeId(ROW_HISTORY_TABLE);

const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** Which rows of a version: row-selection's PixelFilter, restated here so the two modules stay a layer apart. */
export interface VersionFilter {
  label?: string;
  split?: Split;
  maxId?: number;
  asOf?: number;
  labels?: readonly string[];
  excludeLabels?: readonly string[];
  /** Only rows whose source matches this glob (as row-selection reads it). */
  sources?: string;
}

/**
 * The history rows valid at `filter.asOf`, with the dataset table's column names, in id order:
 * after `afterId`, up to `maxId`, of the filter's label and split as they were then.
 */
export function historyRows(
  table: string,
  filter: VersionFilter & { afterId?: number },
  limit?: number,
): { sql: string; params: unknown[] } {
  const conditions = ['h.dataset = ?', 'h.valid_from <= ?', 'h.valid_to > ?'];
  const params: unknown[] = [table, filter.asOf, filter.asOf];
  const add = (sql: string, value: unknown) => {
    conditions.push(sql);
    params.push(...(Array.isArray(value) ? value : [value]));
  };
  if (filter.afterId !== undefined) add('h.id > ?', filter.afterId);
  if (filter.maxId !== undefined) add('h.id <= ?', filter.maxId);
  if (filter.label !== undefined) add('h.label = ?', filter.label);
  if (filter.split !== undefined) add('h.split = ?', filter.split);
  if (filter.labels?.length) add(`h.label IN (${marks(filter.labels.length)})`, filter.labels);
  if (filter.excludeLabels?.length) add(`h.label NOT IN (${marks(filter.excludeLabels.length)})`, filter.excludeLabels);
  if (filter.sources !== undefined) add("COALESCE(t.source, r.source) LIKE ? ESCAPE '!'", globToLike(filter.sources));
  const bytes = ['sha256', 'source', 'format', 'orig_width', 'orig_height', 'original', 'pixels', 'created_at']
    .map((c) => `COALESCE(t.${c}, r.${c}) AS ${c}`)
    .join(', ');
  const sql =
    `SELECT h.id, h.label, h.split, ${bytes}, h.valid_from AS version FROM ${HISTORY} h ` +
    `LEFT JOIN ${escapeId(table)} t ON t.id = h.id ` +
    `LEFT JOIN ${HISTORY} r ON r.dataset = h.dataset AND r.id = h.id AND r.removed = 1 ` +
    `WHERE ${conditions.join(' AND ')} ORDER BY h.id` +
    (limit !== undefined ? ' LIMIT ?' : '');
  return { sql, params: limit !== undefined ? [...params, limit] : params };
}

/**
 * One page of an old version: the current branch (`current`, already limited) and the history
 * branch, each `ORDER BY id LIMIT n`, merged. Each branch stops at n rows, so a page costs the
 * same however deep it is; no derived table holds more than a page.
 */
export function versionPage(
  table: string,
  select: string,
  filter: VersionFilter & { afterId: number },
  pageRows: number,
  current: { sql: string; params: unknown[] },
): { sql: string; params: unknown[] } {
  const history = historyRows(table, filter, pageRows);
  return {
    sql: `(${current.sql}) UNION ALL (SELECT ${select} FROM (${history.sql}) AS v) ORDER BY id LIMIT ?`,
    params: [...current.params, ...history.params, pageRows],
  };
}

/**
 * What an aggregate over a version reads from: `FROM` this, then the filter's WHERE without its
 * version (whereClause of `{ ...filter, asOf: undefined }`). The id, label and split of every
 * row of version `asOf` (and its source with `withSource`, for a subset by source); the current
 * table itself when `asOf` is unset. Without the source, history is not joined with the table:
 * on a sharded table that join asks the backends once per history row.
 */
export function versionSource(
  table: string,
  asOf: number | undefined,
  { withSource = false }: { withSource?: boolean } = {},
): { sql: string; params: unknown[] } {
  if (asOf === undefined) return { sql: escapeId(table), params: [] };
  const history = withSource
    ? `SELECT h.id, h.label, h.split, COALESCE(t.source, r.source) FROM ${HISTORY} h ` +
      `LEFT JOIN ${escapeId(table)} t ON t.id = h.id ` +
      `LEFT JOIN ${HISTORY} r ON r.dataset = h.dataset AND r.id = h.id AND r.removed = 1 `
    : `SELECT h.id, h.label, h.split FROM ${HISTORY} h `;
  return {
    sql:
      `(SELECT id, label, split${withSource ? ', source' : ''} FROM ${escapeId(table)} WHERE version <= ? UNION ALL ` +
      `${history}WHERE h.dataset = ? AND h.valid_from <= ? AND h.valid_to > ?) AS v`,
    params: [asOf, table, asOf, asOf],
  };
}

/**
 * The history rows of version `filter.asOf` as [id, sha256, pixels], page by page in id order.
 * Each page is the history rows with a removed row's own bytes (both on the head of a sharded
 * table), then the bytes of the others by id from the table: one `IN` list that Spider sends to
 * each backend once, where a join would ask them once per row. A subset by source still joins
 * (the source of a row not removed is the table's).
 */
export async function* historyPixelPages(
  q: Queryable,
  table: string,
  filter: VersionFilter,
  pageRows = 2000,
): AsyncGenerator<Array<[number, Buffer, Buffer]>> {
  for (let afterId = 0; ;) {
    const page = { ...filter, afterId };
    const rows =
      filter.sources !== undefined
        ? await joinedPage(q, table, page, pageRows)
        : await statesPage(q, table, page, pageRows);
    for (const r of rows) r[0] = Number(r[0]);
    if (rows.length > 0) yield rows;
    if (rows.length < pageRows) return;
    afterId = rows[rows.length - 1][0];
  }
}

type HistoryPixels = Array<[number, Buffer, Buffer]>;

async function joinedPage(
  q: Queryable,
  table: string,
  filter: VersionFilter & { afterId: number },
  pageRows: number,
): Promise<HistoryPixels> {
  const { sql, params } = historyRows(table, filter, pageRows);
  return (await q.queryArrays(`SELECT id, sha256, pixels FROM (${sql}) AS v`, params)) as HistoryPixels;
}

/** A page of history states, then the bytes of those not removed, by id from the table. */
async function statesPage(
  q: Queryable,
  table: string,
  filter: VersionFilter & { afterId: number },
  pageRows: number,
): Promise<HistoryPixels> {
  const { sql, params } = historyStates(table, filter, pageRows);
  const rows = (await q.queryArrays(sql, params)) as HistoryPixels;
  const kept = rows.filter((r) => r[2] === null).map((r) => Number(r[0]));
  if (kept.length === 0) return rows;
  const current = await bytesByIds(q, table, kept);
  // A row gone from the table meanwhile keeps null bytes: the reader says the table changed.
  for (const r of rows) {
    const bytes = r[2] === null ? current.get(Number(r[0])) : undefined;
    if (bytes) [r[1], r[2]] = bytes;
  }
  return rows;
}

/** History states valid at `filter.asOf` (no subset by source): [id, sha256, pixels], bytes for removed rows only. */
function historyStates(
  table: string,
  filter: VersionFilter & { afterId: number },
  limit: number,
): { sql: string; params: unknown[] } {
  const conditions = ['h.dataset = ?', 'h.valid_from <= ?', 'h.valid_to > ?', 'h.id > ?'];
  const params: unknown[] = [table, filter.asOf, filter.asOf, filter.afterId];
  const add = (sql: string, value: unknown) => {
    conditions.push(sql);
    params.push(...(Array.isArray(value) ? value : [value]));
  };
  if (filter.maxId !== undefined) add('h.id <= ?', filter.maxId);
  if (filter.label !== undefined) add('h.label = ?', filter.label);
  if (filter.split !== undefined) add('h.split = ?', filter.split);
  if (filter.labels?.length) add(`h.label IN (${marks(filter.labels.length)})`, filter.labels);
  if (filter.excludeLabels?.length) add(`h.label NOT IN (${marks(filter.excludeLabels.length)})`, filter.excludeLabels);
  return {
    sql:
      `SELECT h.id, r.sha256, r.pixels FROM ${HISTORY} h ` +
      `LEFT JOIN ${HISTORY} r ON r.dataset = h.dataset AND r.id = h.id AND r.removed = 1 ` +
      `WHERE ${conditions.join(' AND ')} ORDER BY h.id LIMIT ?`,
    params: [...params, limit],
  };
}

/** The hash and pixels of the table's rows by id. */
async function bytesByIds(q: Queryable, table: string, ids: number[]): Promise<Map<number, [Buffer, Buffer]>> {
  const rows = (await q.queryArrays(`SELECT id, sha256, pixels FROM ${escapeId(table)} WHERE id IN (?)`, [
    ids,
  ])) as Array<[number, Buffer, Buffer]>;
  return new Map(rows.map((r) => [Number(r[0]), [r[1], r[2]]]));
}

/** The bytes of rows removed since (kept in history): what a read by id of an old version falls back to. */
export async function removedPixels(q: Queryable, table: string, ids: readonly number[]): Promise<Map<number, Buffer>> {
  if (ids.length === 0) return new Map();
  const rows = await q.query<{ id: number; pixels: Buffer }>(
    `SELECT id, pixels FROM ${HISTORY} WHERE dataset = ? AND removed = 1 AND id IN (?)`,
    [table, ids],
  );
  return new Map(rows.map((r) => [Number(r.id), r.pixels]));
}
