import os from 'node:os';
import { pixelTuplePages, rowIds, type PixelFilter, type PixelTuple } from '../db/dataset-rows';
import type { Db, Queryable } from '../db/db';
import { connectShard, shardMap, type Shard } from '../db/sharding';
import { InvalidDataError } from '../errors';

/**
 * Reading a whole (filtered) table fast, in id order, into one Float32 buffer: what training and
 * evaluation load into memory. Rows come as arrays (no object per row); each next page is asked
 * for before the current one is converted, so the server and this process work at the same time;
 * every row is converted once, straight into its place in the result; and the work is split:
 * - one server: the id range is cut into K spans, counted first (so each knows where its rows go)
 *   and read over K connections at once;
 * - a sharded table: every backend is read directly, all at once (the head is not in the path).
 *   Each shard's ids are read first (primary key only) and merged, which gives every row its
 *   place: the order — and every batch built from it — is exactly what one server gives. A backend
 *   that cannot be reached directly (no route or credentials from here) is read through the head,
 *   its partition only, and a note says so once.
 */

/** Below this many rows per reader, another connection costs more than it saves. */
const MIN_ROWS_PER_READER = 20_000;

/** x / 255 for every byte value: a table lookup per pixel instead of a division (same float). */
const SCALED = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/** Readers for a table on one server: the cores this process may use, at most the pool's 4. */
export function defaultReadParallelism(): number {
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

export interface PixelRows {
  ids: number[];
  labels: string[];
  hashes: Buffer[];
  /** count × per floats in [0, 1]. */
  xs: Float32Array;
  count: number;
}

function emptyRows(count: number, per: number): PixelRows {
  return {
    ids: new Array(count),
    labels: new Array(count),
    hashes: new Array(count),
    xs: new Float32Array(count * per),
    count,
  };
}

/** Converts one page into `out`, row i of the page at position place(i); returns how many it placed. */
function place(
  table: string,
  page: PixelTuple[],
  per: number,
  out: PixelRows,
  slot: (i: number) => number | undefined,
): number {
  let placed = 0;
  for (let i = 0; i < page.length; i++) {
    const at = slot(i);
    if (at === undefined) continue; // a row beyond the snapshot (added after it was counted)
    const [id, label, sha256, pixels] = page[i];
    if (pixels.length !== per) {
      throw new InvalidDataError(
        `row ${id} of "${table}" has ${pixels.length} pixel bytes, expected ${per}`,
        'the table is damaged: re-import it',
      );
    }
    const base = at * per;
    for (let k = 0; k < per; k++) out.xs[base + k] = SCALED[pixels[k]];
    out.ids[at] = id;
    out.labels[at] = label;
    out.hashes[at] = sha256;
    placed++;
  }
  return placed;
}

/** Every (filtered) row, converted, in id order; at most `limit` rows (the first ones). */
export async function readPixelRows(
  db: Db,
  table: string,
  filter: PixelFilter,
  per: number,
  { parallelism = defaultReadParallelism(), limit }: { parallelism?: number; limit?: number } = {},
): Promise<PixelRows> {
  const shards = await shardMap(db, table);
  const rows = shards.length > 0 ? await readShards(db, table, filter, per, shards) : undefined;
  return trim(rows ?? (await readRanges(db, table, filter, per, parallelism)), per, limit);
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
      rows.xs.copyWithin(w * per, r * per, (r + 1) * per);
    }
    w++;
  }
  const count = Math.min(w, limit ?? w);
  if (count === rows.count) return rows;
  return {
    ids: rows.ids.slice(0, count),
    labels: rows.labels.slice(0, count),
    hashes: rows.hashes.slice(0, count),
    xs: rows.xs.subarray(0, count * per),
    count,
  };
}

/**
 * K spans of equal row counts, read at once. The ids come first (from an index, not the rows):
 * they say where each span starts and ends and where each of its rows goes.
 */
async function readRanges(
  db: Db,
  table: string,
  filter: PixelFilter,
  per: number,
  parallelism: number,
): Promise<PixelRows> {
  const ids = await rowIds(db, table, filter);
  const readers = Math.max(1, Math.min(parallelism, Math.floor(ids.length / MIN_ROWS_PER_READER)));
  const out = emptyRows(ids.length, per);
  await Promise.all(
    Array.from({ length: readers }, (_, i) => {
      const start = Math.floor((i * ids.length) / readers);
      const end = Math.floor(((i + 1) * ids.length) / readers);
      if (end <= start) return undefined;
      const span = { ...filter, afterId: start === 0 ? 0 : ids[start - 1], maxId: ids[end - 1] };
      const read = (q: Queryable) => fill(table, pixelTuplePages(q, table, span), per, out, ids, start, end);
      return readers === 1 ? read(db) : db.session(read);
    }),
  );
  return out;
}

/**
 * Places each row of `pages` at its id's position in `ids[start..end)` (the same position in
 * `out`). A row added since the ids were read has no place and is left out; one deleted since
 * leaves its place empty (closed by trim).
 */
async function fill(
  table: string,
  pages: AsyncGenerator<PixelTuple[]>,
  per: number,
  out: PixelRows,
  ids: readonly number[],
  start: number,
  end: number,
  slots?: readonly number[],
): Promise<void> {
  let j = start;
  for await (const page of pages) {
    place(table, page, per, out, (i) => {
      const id = page[i][0];
      while (j < end && ids[j] < id) j++;
      if (j >= end || ids[j] !== id) return undefined;
      return slots ? slots[j++] : j++;
    });
  }
}

const saidUnreachable = new WeakMap<Db, Set<string>>();

/** Where each shard's rows are read from: directly, or through the head (said once). */
async function shardReader(
  db: Db,
  shard: Shard,
): Promise<{ q: Queryable; partition?: string; close(): Promise<void> }> {
  const throughHead = (why: string) => {
    const said = saidUnreachable.get(db) ?? new Set<string>();
    saidUnreachable.set(db, said);
    if (!said.has(shard.name)) {
      said.add(shard.name);
      db.note(`shard ${shard.name} cannot be read directly from here (${why}): reading it through the head`);
    }
    return { q: db, partition: shard.partition, close: async () => undefined };
  };
  if (!shard.direct) return throughHead(`${db.config.user} may not read the backends' addresses in mysql.servers`);
  try {
    const conn = await connectShard(shard);
    return { q: conn, close: () => conn.close() };
  } catch (e) {
    return throughHead(`${shard.host}:${shard.port}: ${(e as { cause?: { code?: string } }).cause?.code ?? 'error'}`);
  }
}

/** Every backend at once: ids first (to place every row), then the rows, written in place. */
async function readShards(
  db: Db,
  table: string,
  filter: PixelFilter,
  per: number,
  shards: Shard[],
): Promise<PixelRows> {
  const readers = await Promise.all(shards.map((s) => shardReader(db, s)));
  try {
    const ids = await Promise.all(readers.map((r) => rowIds(r.q, table, filter, r.partition)));
    // Merge the shards' id lists: row j of shard k goes to position slots[k][j].
    const slots = ids.map((list) => new Array<number>(list.length));
    const at = ids.map(() => 0);
    const total = ids.reduce((n, l) => n + l.length, 0);
    for (let o = 0; o < total; o++) {
      let best = -1;
      for (let k = 0; k < ids.length; k++) {
        if (at[k] < ids[k].length && (best < 0 || ids[k][at[k]] < ids[best][at[best]])) best = k;
      }
      slots[best][at[best]++] = o;
    }
    const out = emptyRows(total, per);
    await Promise.all(
      readers.map(async (r, k) => {
        const list = ids[k];
        if (list.length === 0) return;
        const pages = pixelTuplePages(r.q, table, { ...filter, maxId: list[list.length - 1] }, undefined, r.partition);
        await fill(table, pages, per, out, list, 0, list.length, slots[k]);
      }),
    );
    return out;
  } finally {
    await Promise.all(readers.map((r) => r.close()));
  }
}
