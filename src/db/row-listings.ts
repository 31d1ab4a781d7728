import { UsageError } from '../errors';
import type { Db } from './db';
import { escapeId } from './identifiers';
import type { Split } from './schema';
import { keysetPages, whereClause, type RowFilter } from './row-selection';

/** Pages of rows without their BLOBs: what `rows` and the dashboard list. */

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
