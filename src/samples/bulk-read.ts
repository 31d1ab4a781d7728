import os from 'node:os';
import {
  concatenatedRows,
  type ConcatenatedRows,
  pixelTuplePages,
  rowKeys,
  withConcatLimit,
  type PixelTuple,
  type RowKeys,
} from '../db/pixel-reads';
import { idBounds } from '../db/table-stats';
import { type PixelFilter } from '../db/row-selection';
import { historyPixelPages } from '../db/version-reads';
import type { Db, Queryable } from '../db/db';
import { shardReader } from '../db/shard-reads';
import { shardMap, type Shard } from '../db/sharding';
import { InvalidDataError, UsageError } from '../errors';
import { POOL_CONNECTIONS } from '../db/pool';
import { SCALED } from './scaled';

/**
 * Reading a whole (filtered) table fast, in id order, into one buffer of stored pixel bytes: what
 * training and evaluation load into memory (batches are scaled to floats as they are taken). The
 * ids and labels come first, from an index (never the rows): they say where every row goes. Then
 * the rows are read in spans of consecutive ids, all at once:
 * - one server: K readers (K sessions of the pool) taking the next span until none is left;
 * - a sharded table: every backend directly (the head is not in the path); the shards' ids merged
 *   give each row its place, so the order — and every batch built from it — is exactly what one
 *   server gives. A backend that cannot be reached directly (no route or credentials from here)
 *   is read through the head, its partition only, and a note says so once. An old version
 *   (`asOf`) is read through the head as one server's table is (docs/curation.md).
 * A span comes back as one result row (the server concatenates its rows: concatenatedRows), so
 * there is no packet, parse or object per row, and each row's bytes are copied once, straight
 * into their place. Converting to floats here was the cost of a load (47 million values for
 * 60,000 28×28 rows: ~0.09 s to touch a fresh 188 MB buffer, ~0.08 s of lookups, one core);
 * worker threads converting in parallel were measured slower on 2 cores (0.44–0.53 s against
 * 0.26–0.30 s), so training keeps the bytes and makes floats per batch, where they cost nothing
 * noticeable. A caller that wants the whole table as floats (readScaledRows) gets each span
 * converted as it arrives, while the other readers' spans are still on their way.
 */

/** At most this many bytes per span (one result row), and half the max_allowed_packet. */
const MAX_SPAN_BYTES = 16 * 1024 * 1024;

/** Readers for a table on one server by default: the cores this process may use, at most 4. */
export function defaultReadParallelism(): number {
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

/**
 * --read-parallelism, else MLDB_READ_PARALLELISM (`configured`, read by config.ts), else
 * defaultReadParallelism().
 */
export function resolveReadParallelism(flag?: string, configured?: string): number {
  const [name, text] = flag !== undefined ? ['--read-parallelism', flag] : ['MLDB_READ_PARALLELISM', configured];
  if (text === undefined) return defaultReadParallelism();
  const k = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!(k >= 1 && k <= POOL_CONNECTIONS)) {
    throw new UsageError(
      `invalid ${name} "${text}"`,
      `use a whole number of connections from 1 to ${POOL_CONNECTIONS}`,
    );
  }
  return k;
}

export interface PixelRows<P extends Uint8Array | Float32Array = Uint8Array> {
  ids: number[];
  labels: string[];
  hashes: Buffer[];
  /** count × per values: the bytes as stored, or floats in [0, 1] from readScaledRows. */
  pixels: P;
  count: number;
}

/** How a read lays the rows' pixels out: a buffer of `values`, and one run of stored bytes put at a place. */
interface Layout<P extends Uint8Array | Float32Array> {
  alloc(values: number): P;
  put(into: P, bytes: Uint8Array, at: number): void;
}

const STORED_BYTES: Layout<Uint8Array> = {
  alloc: (values) => new Uint8Array(values),
  put: (into, bytes, at) => into.set(bytes, at),
};

const SCALED_FLOATS: Layout<Float32Array> = {
  alloc: (values) => new Float32Array(values),
  put: (into, bytes, at) => {
    for (let k = 0; k < bytes.length; k++) into[at + k] = SCALED[bytes[k]];
  },
};

export interface BulkReadOptions {
  /** Readers on one server (default: defaultReadParallelism()). */
  parallelism?: number;
  /** At most this many rows, the first ones (a caller's snapshot count). */
  limit?: number;
  /** At most this many bytes per span (default MAX_SPAN_BYTES); tests use small spans. */
  spanBytes?: number;
}

/** Where a part's rows go: found from its ids and labels (rowKeys), which may come after the rows. */
interface Places {
  keys: RowKeys;
  /** The place in the output of the part's j-th id. */
  positions: (j: number) => number;
}

/** One part of the read: where its rows come from, and where each goes. */
interface Part {
  /** The pool (each reader takes a session of it), or a shard's connection (one reader). */
  q: Queryable | Db;
  partition?: string;
  readers: number;
  places: Promise<Places>;
}

/** The (filtered) rows in id order, their pixels as stored bytes. */
export function readPixelRows(
  db: Db,
  table: string,
  filter: PixelFilter,
  per: number,
  options: BulkReadOptions = {},
): Promise<PixelRows> {
  return readRows(db, table, filter, per, options, STORED_BYTES);
}

/**
 * The same rows with their pixels as floats in [0, 1] (x / 255, as training scales them), each span
 * converted as it arrives, while the server is still sending the next ones: rows → one Float32
 * buffer (drawTensors) without a matrix of bytes first and a second pass over it.
 */
export function readScaledRows(
  db: Db,
  table: string,
  filter: PixelFilter,
  per: number,
  options: BulkReadOptions = {},
): Promise<PixelRows<Float32Array>> {
  return readRows(db, table, filter, per, options, SCALED_FLOATS);
}

async function readRows<P extends Uint8Array | Float32Array>(
  db: Db,
  table: string,
  filter: PixelFilter,
  per: number,
  options: BulkReadOptions,
  layout: Layout<P>,
): Promise<PixelRows<P>> {
  const shards = await shardMap(db, table);
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    const spanBytes = Math.min(options.spanBytes ?? MAX_SPAN_BYTES, Math.floor((await db.maxAllowedPacket()) / 2));
    // An old version of a sharded table is read through the head: its history is there, beside the registry.
    const { parts, count } =
      shards.length > 0 && filter.asOf === undefined
        ? await shardParts(db, table, filter, shards, opened)
        : serverPart(db, table, filter, options.parallelism ?? defaultReadParallelism());
    // Rows are read while the places are found; a span waits for its part's places to copy.
    const out = count.then((n) => ({
      ids: new Array<number>(n),
      labels: new Array<string>(n),
      hashes: new Array<Buffer>(n),
      pixels: layout.alloc(n * per),
      count: n,
    }));
    out.catch(() => undefined); // awaited below, or the reads' own error is the one reported
    await Promise.all(parts.map((p) => readPart(table, filter, per, p, { out, layout }, spanBytes)));
    // An old version: the spans read the rows unchanged since; those changed since come from history.
    if (filter.asOf !== undefined) await readHistoryRows(db, table, filter, per, parts[0], { out, layout });
    return trim(await out, per, options.limit);
  } finally {
    await Promise.all(opened.map((c) => c.close()));
  }
}

/** A table on one server: K readers, each on its own session of the pool, the keys read meanwhile. */
function serverPart(
  db: Db,
  table: string,
  filter: PixelFilter,
  parallelism: number,
): { parts: Part[]; count: Promise<number> } {
  const keys = rowKeys(db, table, filter);
  const places = keys.then((k) => ({ keys: k, positions: (j: number) => j }));
  const readers = Math.max(1, Math.min(POOL_CONNECTIONS, parallelism));
  return { parts: [{ q: db, readers, places }], count: keys.then((k) => k.ids.length) };
}

/** Every backend directly (or through the head when it cannot be reached); ids merged into places. */
async function shardParts(
  db: Db,
  table: string,
  filter: PixelFilter,
  shards: Shard[],
  opened: Array<{ close(): Promise<void> }>,
): Promise<{ parts: Part[]; count: Promise<number> }> {
  const sources = await Promise.all(
    shards.map(async (s) => {
      const reader = await shardReader(db, s);
      if (reader.connection) opened.push(reader.connection);
      return { q: reader.q, partition: reader.partition };
    }),
  );
  const keys = await Promise.all(sources.map((s) => rowKeys(s.q, table, filter, s.partition)));
  const ids = keys.map((k) => k.ids);
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
    readers: 1,
    places: Promise.resolve({ keys: keys[k], positions: (j: number) => slots[k][j] }),
  }));
  return { parts, count: Promise.resolve(count) };
}

/**
 * A part, span by span: its readers take the next span of ids until none is left. Spans split the
 * part's id range evenly, sized as if every id were a row (under `spanBytes`), and at least
 * SPANS_PER_READER per reader so that one finishing early takes another (unless that would make
 * spans smaller than MIN_SPAN_IDS).
 */
async function readPart<P extends Uint8Array | Float32Array>(
  table: string,
  filter: PixelFilter,
  per: number,
  part: Part,
  sink: Sink<P>,
  spanBytes: number,
): Promise<void> {
  const { q } = part;
  const bounds = await idBounds(q, table, part.partition);
  const lo = Math.max(bounds.min, 1);
  const hi = Math.min(bounds.max, filter.maxId ?? Infinity);
  if (hi < lo) return;
  const spans = Math.max(
    Math.min(part.readers * SPANS_PER_READER, Math.ceil((hi - lo + 1) / MIN_SPAN_IDS)),
    Math.ceil(((hi - lo + 1) * (per + ROW_OVERHEAD)) / spanBytes),
  );
  const width = Math.ceil((hi - lo + 1) / spans);
  let next = lo;
  // A reader copies nothing itself: copying waits for the places (the keys may still be coming
  // over another session of the same pool), and a session must not be held while waiting.
  const copies: Array<Promise<void>> = [];
  const reader = (session: Queryable) =>
    withConcatLimit(session, async () => {
      for (let from = next; from <= hi; from = next) {
        next = Math.min(hi, from + width - 1) + 1;
        const span = { ...filter, afterId: from - 1, maxId: next - 1 };
        const rows = await concatenatedRows(session, table, span, part.partition);
        const intact = rows.pixels.length === rows.ids.length * per && rows.hashes.length === rows.ids.length * 32;
        // A row of another length (a damaged table), or a result cut short: row by row says which.
        const copy = intact ? copySpan(rows, per, part, sink) : readSpanByRows(table, span, per, session, part, sink);
        copy.catch(() => undefined); // a failure is reported where the copies are awaited, not as unhandled
        copies.push(copy);
        if (!intact) await copy;
      }
    });
  const readers = Math.min(part.readers, spans);
  await Promise.all(Array.from({ length: readers }, () => ('session' in q ? q.session(reader) : reader(q))));
  await Promise.all(copies);
}

/** Besides its pixels, a row's share of a span: its hash and its id in a list. */
const ROW_OVERHEAD = 32 + 21;
/** Spans per reader at least: readers that finish early take another. */
const SPANS_PER_READER = 3;
/**
 * But no span below this many ids: a round trip and a scan start cost more than a small table's
 * rows. On filedata (6,101 rows) 2,048 against 8,192 (one span): the matrix 10.5 ms against 11.5,
 * floats 16.8 against 19.7 (medians of 21 warm reads, 2 cores); 1,024 gained nothing more.
 */
const MIN_SPAN_IDS = 2048;

/** Where the rows go (known once the count is), and how their pixels are laid out there. */
interface Sink<P extends Uint8Array | Float32Array> {
  out: Promise<PixelRows<P>>;
  layout: Layout<P>;
}

/** A span's rows, each copied into its place once the part's places are known. */
async function copySpan<P extends Uint8Array | Float32Array>(
  rows: ConcatenatedRows,
  per: number,
  part: Part,
  { out, layout }: Sink<P>,
): Promise<void> {
  const n = rows.ids.length;
  const hashes = Buffer.from(rows.hashes); // a copy: the hashes kept must not hold the span's pixels
  const [{ keys, positions }, into] = await Promise.all([part.places, out]);
  // Rows whose places follow one another are copied as one run (on one server: the whole span).
  let runFrom = 0;
  let runAt = -1;
  const copyRun = (to: number) => {
    if (runAt >= 0) layout.put(into.pixels, rows.pixels.subarray(runFrom * per, to * per), runAt * per);
  };
  for (let r = 0; r < n; r++) {
    const j = indexOf(keys.ids, rows.ids[r]);
    const at = j < 0 ? -1 : positions(j); // no place: added since the ids were read
    if (at < 0 || at !== runAt + (r - runFrom)) {
      copyRun(r);
      runFrom = r;
      runAt = at;
    }
    if (at < 0) continue;
    into.ids[at] = keys.ids[j];
    into.labels[at] = keys.labels[j];
    into.hashes[at] = hashes.subarray(r * 32, (r + 1) * 32);
  }
  copyRun(n);
}

/**
 * The same span as rows, each checked: slower, and exact about a damaged row. The rows are all
 * read before waiting for the places (the session is not held while waiting).
 */
async function readSpanByRows<P extends Uint8Array | Float32Array>(
  table: string,
  span: PixelFilter & { afterId: number },
  per: number,
  q: Queryable,
  part: Part,
  { out, layout }: Sink<P>,
): Promise<void> {
  const tuples: PixelTuple[] = [];
  for await (const page of pixelTuplePages(q, table, span, undefined, part.partition)) {
    for (const tuple of page as PixelTuple[]) {
      checkPixelLength(table, tuple[0], tuple[3], per);
      tuples.push(tuple);
    }
  }
  const [places, into] = await Promise.all([part.places, out]);
  for (const [id, , sha256, pixels] of tuples) putRow(places, into, layout, per, id, sha256, pixels);
}

/** One checked row into its place (a row the part's keys do not name is not read). */
function putRow<P extends Uint8Array | Float32Array>(
  { keys, positions }: Places,
  into: PixelRows<P>,
  layout: Layout<P>,
  per: number,
  id: number,
  sha256: Buffer,
  pixels: Buffer,
): void {
  const j = indexOf(keys.ids, id);
  if (j < 0) return;
  const at = positions(j);
  layout.put(into.pixels, pixels, at * per);
  into.ids[at] = id;
  into.labels[at] = keys.labels[j];
  into.hashes[at] = sha256;
}

/** The rows of an old version that changed since (history rows valid then), each put at its place. */
async function readHistoryRows<P extends Uint8Array | Float32Array>(
  db: Db,
  table: string,
  filter: PixelFilter,
  per: number,
  part: Part,
  { out, layout }: Sink<P>,
): Promise<void> {
  const [places, into] = await Promise.all([part.places, out]);
  for await (const rows of historyPixelPages(db, table, filter)) {
    for (const [id, sha256, pixels] of rows) {
      checkPixelLength(table, id, pixels, per);
      putRow(places, into, layout, per, id, sha256, pixels);
    }
  }
}

/** Where `id` is in the sorted `ids`, or -1. */
function indexOf(ids: readonly number[], id: number): number {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid] < id) lo = mid + 1;
    else if (ids[mid] > id) hi = mid - 1;
    else return mid;
  }
  return -1;
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
function trim<P extends Uint8Array | Float32Array>(rows: PixelRows<P>, per: number, limit?: number): PixelRows<P> {
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
    pixels: rows.pixels.subarray(0, count * per) as P,
    count,
  };
}
