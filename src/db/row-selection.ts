import { UsageError } from '../errors';
import type { Queryable } from './db';
import { escapeId } from './identifiers';
import { SPLITS, type Split } from './schema';
import { globToLike } from './glob-like';
import { versionPage } from './version-reads';

/**
 * Which rows of a dataset table a statement reads: the filter, its WHERE clause and the one
 * keyset paging loop. Callers pass a table name the registry has validated; it is always quoted,
 * and every value is a `?` parameter.
 */

export interface RowFilter {
  label?: string;
  split?: Split;
  limit?: number;
  afterId?: number;
  /** Only rows with id ≤ maxId: the rows a training run started with (the table may keep growing). */
  maxId?: number;
  /**
   * The rows as version `asOf` of the table held them, labels and splits as they were then
   * (version-reads.ts; docs/curation.md). Unset: the current rows, read as they always were.
   */
  asOf?: number;
  /** Only rows of these labels (a training run's subset). */
  labels?: readonly string[];
  /** No rows of these labels. */
  excludeLabels?: readonly string[];
  /** Only rows whose source matches this glob: `*` any characters, `?` one, the rest literally. */
  sources?: string;
}

/** The part of a filter that chooses a subset of a table's rows by label and source. */
export type RowSubset = Pick<RowFilter, 'labels' | 'excludeLabels' | 'sources'>;

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

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
export function whereClause(filter: RowFilter): { sql: string; params: unknown[] } {
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
  // Of an old version, this table holds the rows unchanged since; the rest come from history.
  if (filter.asOf !== undefined) add('version <= ?', filter.asOf);
  if (filter.labels?.length) {
    parts.push(`label IN (${placeholders(filter.labels.length)})`);
    params.push(...filter.labels);
  }
  if (filter.excludeLabels?.length) {
    parts.push(`label NOT IN (${placeholders(filter.excludeLabels.length)})`);
    params.push(...filter.excludeLabels);
  }
  if (filter.sources !== undefined) add("source LIKE ? ESCAPE '!'", globToLike(filter.sources));
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

/**
 * The one paging loop: `select` of (filtered) rows in id order by keyset paging — `WHERE id > ?
 * ORDER BY id LIMIT n`, never OFFSET, so each page costs the same however deep it is. `select`
 * is one of this module's constant column lists, never user input.
 */
export async function* keysetPages<T extends { id: number }>(
  db: Queryable,
  table: string,
  select: string,
  filter: PixelFilter & { afterId?: number },
  pageRows: number,
): AsyncGenerator<T[]> {
  let afterId = filter.afterId ?? 0;
  for (;;) {
    const { sql, params } = pageQuery(table, select, { ...filter, afterId }, pageRows);
    const rows = await db.query<T>(sql, params);
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < pageRows) return;
    afterId = Number(rows[rows.length - 1].id);
  }
}

/**
 * One keyset page: `select` of the rows after `filter.afterId`, in id order. Of an old version
 * (`asOf`), the rows unchanged since and the history rows valid then, each branch paged on its
 * own and merged by id (versionPage).
 */
export function pageQuery(
  table: string,
  select: string,
  filter: PixelFilter & { afterId: number },
  pageRows: number,
  partition?: string,
): { sql: string; params: unknown[] } {
  const { sql, params } = whereClause(filter);
  const current = `SELECT ${select} FROM ${tableRef(table, partition)} ${sql} ORDER BY id LIMIT ?`;
  if (filter.asOf === undefined) return { sql: current, params: [...params, pageRows] };
  return versionPage(table, select, filter, pageRows, { sql: current, params: [...params, pageRows] });
}

/** A table, or one partition of a sharded table through its head (that shard's rows only). */
export function tableRef(table: string, partition?: string): string {
  return escapeId(table) + (partition ? ` PARTITION (${escapeId(partition)})` : '');
}
