import type { Queryable } from './db';
import { escapeId } from './identifiers';
import { shardOf } from './sharding';
import type { Split } from './schema';

/** Storing new rows: one multi-row INSERT per batch, and which of them are already stored. */

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
 * how many rows were new. `version`: the table version the batch makes (unsharded tables).
 */
export async function insertRows(
  q: Queryable,
  table: string,
  rows: readonly NewRow[],
  ids?: readonly number[],
  version?: number,
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
    ...(version !== undefined ? [version] : []),
  ]);
  const res = await q.run(
    `INSERT INTO ${escapeId(table)} (${ids ? 'id, shard, ' : ''}label, split, sha256, source, format, orig_width,
       orig_height, original, pixels${version !== undefined ? ', version' : ''})
     VALUES ? ON DUPLICATE KEY UPDATE id = id`,
    [values],
  );
  return res.affectedRows;
}
