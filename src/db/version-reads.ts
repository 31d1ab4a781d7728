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
 * row of version `asOf` (and its source, which a subset may filter on); the current table itself when `asOf` is unset.
 */
export function versionSource(table: string, asOf: number | undefined): { sql: string; params: unknown[] } {
  if (asOf === undefined) return { sql: escapeId(table), params: [] };
  return {
    sql:
      `(SELECT id, label, split, source FROM ${escapeId(table)} WHERE version <= ? UNION ALL ` +
      `SELECT h.id, h.label, h.split, COALESCE(t.source, r.source) FROM ${HISTORY} h ` +
      `LEFT JOIN ${escapeId(table)} t ON t.id = h.id ` +
      `LEFT JOIN ${HISTORY} r ON r.dataset = h.dataset AND r.id = h.id AND r.removed = 1 ` +
      `WHERE h.dataset = ? AND h.valid_from <= ? AND h.valid_to > ?) AS v`,
    params: [asOf, table, asOf, asOf],
  };
}

/** The history rows of version `filter.asOf` as [id, sha256, pixels], page by page in id order. */
export async function* historyPixelPages(
  q: Queryable,
  table: string,
  filter: VersionFilter,
  pageRows = 2000,
): AsyncGenerator<Array<[number, Buffer, Buffer]>> {
  for (let afterId = 0; ;) {
    const { sql, params } = historyRows(table, { ...filter, afterId }, pageRows);
    const rows = (await q.queryArrays(`SELECT id, sha256, pixels FROM (${sql}) AS v`, params)) as Array<
      [number, Buffer, Buffer]
    >;
    for (const r of rows) r[0] = Number(r[0]);
    if (rows.length > 0) yield rows;
    if (rows.length < pageRows) return;
    afterId = rows[rows.length - 1][0];
  }
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
