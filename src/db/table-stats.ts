import { compareLabels } from '../labels';
import type { Db, Queryable } from './db';
import { escapeId } from './identifiers';
import type { Split } from './schema';
import { tableRef, whereClause, type PixelFilter } from './row-selection';
import { historyRows, versionSource } from './version-reads';

/** Counts over a dataset table: rows, labels, splits, id bounds — one statement each. */

/** Rows, distinct labels, stored bytes and files per format: one scan for `tables` and `show`. */
export async function tableStats(
  db: Db,
  table: string,
  asOf?: number,
): Promise<{
  rows: number;
  labels: number;
  originalBytes: number;
  pixelBytes: number;
  formats: Record<string, number>;
}> {
  const { sql: t, params } = asOf === undefined ? { sql: escapeId(table), params: [] } : versionBytes(table, asOf);
  const [c] = await db.query<{ n: number; labels: number; o: string | null; p: string | null }>(
    `SELECT COUNT(*) AS n, COUNT(DISTINCT label) AS labels, SUM(LENGTH(original)) AS o, SUM(LENGTH(pixels)) AS p
     FROM ${t}`,
    params,
  );
  const formats = await db.query<{ format: string; n: number }>(
    `SELECT format, COUNT(*) AS n FROM ${t} GROUP BY format`,
    params,
  );
  return {
    rows: Number(c.n),
    labels: Number(c.labels),
    originalBytes: Number(c.o ?? 0),
    pixelBytes: Number(c.p ?? 0),
    formats: Object.fromEntries(formats.map((f) => [f.format, Number(f.n)])),
  };
}

/** The rows of version `asOf` with the columns tableStats counts (its BLOBs as their lengths' source). */
function versionBytes(table: string, asOf: number): { sql: string; params: unknown[] } {
  const history = historyRows(table, { asOf });
  return {
    sql:
      `(SELECT label, format, original, pixels FROM ${escapeId(table)} WHERE version <= ? UNION ALL ` +
      `SELECT label, format, original, pixels FROM (${history.sql}) AS h) AS v`,
    params: [asOf, ...history.params],
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

export async function maxRowId(db: Db, table: string, asOf?: number): Promise<number> {
  const from = versionSource(table, asOf);
  const [row] = await db.query<{ m: number | null }>(`SELECT MAX(id) AS m FROM ${from.sql}`, from.params);
  return Number(row?.m ?? 0);
}

export async function labelSplitCounts(
  db: Db,
  table: string,
  asOf?: number,
): Promise<{ label: string; split: Split; rows: number }[]> {
  const from = versionSource(table, asOf);
  const rows = await db.query<{ label: string; split: Split; n: number }>(
    `SELECT label, split, COUNT(*) AS n FROM ${from.sql} GROUP BY label, split`,
    from.params,
  );
  return rows.map((r) => ({ label: r.label, split: r.split, rows: Number(r.n) }));
}

/** Rows per split, every split present (0 when empty). */
export async function splitCounts(db: Db, table: string, filter: PixelFilter = {}): Promise<Record<Split, number>> {
  const counts: Record<Split, number> = { train: 0, validation: 0, test: 0 };
  const { from, sql, params } = selection(table, filter);
  const rows = await db.query<{ split: Split; n: number }>(
    `SELECT split, COUNT(*) AS n FROM ${from} ${sql} GROUP BY split`,
    params,
  );
  for (const r of rows) counts[r.split] = Number(r.n);
  return counts;
}

/** Every label of the table in class-index order (numbers sorted as numbers). */
export async function labels(db: Db, table: string, filter: PixelFilter = {}): Promise<string[]> {
  const { from, sql, params } = selection(table, filter);
  const rows = await db.query<{ label: string }>(`SELECT DISTINCT label FROM ${from} ${sql}`, params);
  return rows.map((r) => r.label).sort(compareLabels);
}

/** How many (filtered) rows there are. */
export async function countRows(db: Db, table: string, filter: PixelFilter = {}): Promise<number> {
  const { from, sql, params } = selection(table, filter);
  const [{ n }] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${from} ${sql}`, params);
  return Number(n);
}

/** FROM and WHERE of a filtered count: the table, or the rows of an old version. */
function selection(table: string, filter: PixelFilter): { from: string; sql: string; params: unknown[] } {
  const source = versionSource(table, filter.asOf, { withSource: filter.sources !== undefined });
  const { sql, params } = whereClause({ ...filter, asOf: undefined });
  return { from: source.sql, sql, params: [...source.params, ...params] };
}
