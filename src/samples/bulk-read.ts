import os from 'node:os';
import { pixelTuplePages, rowIds, type PixelFilter, type PixelTuple } from '../db/dataset-rows';
import type { Db, Queryable } from '../db/db';
import { connectShard, shardMap, type Shard } from '../db/sharding';
import { InvalidDataError } from '../errors';

/**
 * Reading a whole (filtered) table fast, in id order, into one buffer of stored pixel bytes: what
 * training and evaluation load into memory (batches are scaled to floats as they are taken). The
 * ids come first, from an index (never the rows): they say where every row goes. Then the rows are
 * read in parts, all at once:
 * - one server: K spans of equal row counts, over K connections;
 * - a sharded table: every backend directly (the head is not in the path); the shards' ids merged
 *   give each row its place, so the order — and every batch built from it — is exactly what one
 *   server gives. A backend that cannot be reached directly (no route or credentials from here)
 *   is read through the head, its partition only, and a note says so once.
 * Rows come as arrays (no object per row), each next page asked for before the current one is
 * copied, and each row's bytes are copied once, straight into their place. Converting to floats
 * here was the cost of a load (47 million divisions for 60,000 28×28 rows, ~0.2 s of one core);
 * worker threads converting in parallel were measured slower on 2 cores (0.44–0.53 s against
 * 0.26–0.30 s), so floats are made per batch instead, where they cost nothing noticeable.
 */

/** Below this many rows per reader, another connection costs more than it saves. */
const MIN_ROWS_PER_READER = 20_000;

/** Readers for a table on one server: the cores this process may use, at most the pool's 4. */
export function defaultReadParallelism(): number {
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

export interface PixelRows {
  ids: number[];
  labels: string[];
  hashes: Buffer[];
  /** count × per bytes, as stored. */
  pixels: Uint8Array;
  count: number;
}

export interface BulkReadOptions {
  /** Readers on one server (default: defaultReadParallelism()). */
  parallelism?: number;
  /** At most this many rows, the first ones (a caller's snapshot count). */
  limit?: number;
}

/** One part of the read: where its rows come from, which ids, and where each goes. */
interface Part {
  /** The pool, or a shard's connection. */
  q: Queryable;
  partition?: string;
  filter: PixelFilter & { afterId?: number };
  ids: readonly number[];
  positions: (j: number) => number;
}

export async function readPixelRows(
  db: Db,
  table: string,
  filter: PixelFilter,
  per: number,
  options: BulkReadOptions = {},
): Promise<PixelRows> {
  const shards = await shardMap(db, table);
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    const { parts, count } =
      shards.length > 0
        ? await shardParts(db, table, filter, shards, opened)
        : await rangeParts(db, table, filter, options.parallelism ?? defaultReadParallelism());
    const out: PixelRows = {
      ids: new Array(count),
      labels: new Array(count),
      hashes: new Array(count),
      pixels: new Uint8Array(count * per),
      count,
    };
    await Promise.all(parts.map((p) => readPart(table, per, p, out)));
    return trim(out, per, options.limit);
  } finally {
    await Promise.all(opened.map((c) => c.close()));
  }
}

/** K spans of equal row counts on one server. */
async function rangeParts(
  db: Db,
  table: string,
  filter: PixelFilter,
  parallelism: number,
): Promise<{ parts: Part[]; count: number }> {
  const ids = await rowIds(db, table, filter);
  const readers = Math.max(1, Math.min(parallelism, Math.floor(ids.length / MIN_ROWS_PER_READER)));
  const parts: Part[] = [];
  for (let i = 0; i < readers; i++) {
    const start = Math.floor((i * ids.length) / readers);
    const end = Math.floor(((i + 1) * ids.length) / readers);
    if (end <= start) continue;
    parts.push({
      q: db,
      filter: { ...filter, afterId: start === 0 ? 0 : ids[start - 1], maxId: ids[end - 1] },
      ids: ids.slice(start, end),
      positions: (j) => start + j,
    });
  }
  return { parts, count: ids.length };
}

const saidUnreachable = new WeakMap<Db, Set<string>>();

/** Every backend directly (or through the head when it cannot be reached); ids merged into places. */
async function shardParts(
  db: Db,
  table: string,
  filter: PixelFilter,
  shards: Shard[],
  opened: Array<{ close(): Promise<void> }>,
): Promise<{ parts: Part[]; count: number }> {
  const sources = await Promise.all(shards.map((s) => shardSource(db, s, opened)));
  const ids = await Promise.all(sources.map((s) => rowIds(s.q, table, filter, s.partition)));
  // Merge the shards' id lists: row j of shard k goes to position slots[k][j].
  const slots = ids.map((list) => new Int32Array(list.length));
  const at = ids.map(() => 0);
  const count = ids.reduce((n, l) => n + l.length, 0);
  for (let o = 0; o < count; o++) {
    let best = -1;
    for (let k = 0; k < ids.length; k++) {
      if (at[k] < ids[k].length && (best < 0 || ids[k][at[k]] < ids[best][at[best]])) best = k;
    }
    slots[best][at[best]++] = o;
  }
  const parts = sources.map((s, k) => ({
    ...s,
    filter: { ...filter },
    ids: ids[k],
    positions: (j: number) => slots[k][j],
  }));
  return { parts, count };
}

async function shardSource(
  db: Db,
  shard: Shard,
  opened: Array<{ close(): Promise<void> }>,
): Promise<Pick<Part, 'q' | 'partition'>> {
  const throughHead = (why: string) => {
    const said = saidUnreachable.get(db) ?? new Set<string>();
    saidUnreachable.set(db, said);
    if (!said.has(shard.name)) {
      said.add(shard.name);
      db.note(`shard ${shard.name} cannot be read directly from here (${why}): reading it through the head`);
    }
    return { q: db, partition: shard.partition };
  };
  if (!shard.direct) return throughHead(`${db.config.user} may not read the backends' addresses in mysql.servers`);
  try {
    const conn = await connectShard(shard);
    opened.push(conn);
    return { q: conn };
  } catch (e) {
    return throughHead(`${shard.host}:${shard.port}: ${(e as { cause?: { code?: string } }).cause?.code ?? 'error'}`);
  }
}

/** A part: each row matched to its id and converted into its place. */
async function readPart(table: string, per: number, part: Part, out: PixelRows): Promise<void> {
  const n = part.ids.length;
  if (n === 0) return;
  let j = 0;
  const filter = { ...part.filter, maxId: part.ids[n - 1] };
  for await (const page of pixelTuplePages(part.q, table, filter, undefined, part.partition)) {
    for (const [id, label, sha256, pixels] of page as PixelTuple[]) {
      while (j < n && part.ids[j] < id) j++;
      if (j >= n || part.ids[j] !== id) continue; // added since the ids were read: no place
      checkPixelLength(table, id, pixels, per);
      const at = part.positions(j);
      out.pixels.set(pixels, at * per);
      out.ids[at] = id;
      out.labels[at] = label;
      out.hashes[at] = sha256;
      j++;
    }
  }
}

/** A row whose pixels are not the table's shape: the table is damaged. */
export function checkPixelLength(table: string, id: number, pixels: Buffer, per: number): void {
  if (pixels.length !== per) {
    throw new InvalidDataError(
      `row ${id} of "${table}" has ${pixels.length} pixel bytes, expected ${per}`,
      'the table is damaged: re-import it',
    );
  }
}

/** Closes places left empty (rows deleted while being read), then keeps the first `limit` rows. */
function trim(rows: PixelRows, per: number, limit?: number): PixelRows {
  let w = 0;
  for (let r = 0; r < rows.count; r++) {
    if (rows.ids[r] === undefined) continue;
    if (w !== r) {
      rows.ids[w] = rows.ids[r];
      rows.labels[w] = rows.labels[r];
      rows.hashes[w] = rows.hashes[r];
      rows.pixels.copyWithin(w * per, r * per, (r + 1) * per);
    }
    w++;
  }
  const count = Math.min(w, limit ?? w);
  if (count === rows.count) return rows;
  return {
    ids: rows.ids.slice(0, count),
    labels: rows.labels.slice(0, count),
    hashes: rows.hashes.slice(0, count),
    pixels: rows.pixels.subarray(0, count * per),
    count,
  };
}
