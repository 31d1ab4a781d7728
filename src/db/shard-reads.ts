import type { Db, Queryable } from './db';
import { originalPages, pixelsByIds, type OriginalRow } from './pixel-reads';
import type { PixelFilter } from './row-selection';
import { backendTimedOut, connectShard, onShardOrHead, shardOf, type Shard, type ShardConnection } from './sharding';

/**
 * Streaming reads of a sharded table from every backend directly: each backend's pages in id order,
 * merged into one id-ordered stream, so a caller sees exactly what the head (or one server) would
 * return. Used by export; when a backend cannot be reached from here, the whole stream comes
 * through the head instead (already in id order). And rows by id for streamed training, each
 * asked of the backend that holds it.
 */

const PAGE_ROWS = 500;

/** Pages of every shard, merged by id; at most PAGE_ROWS rows a page. */
async function* mergeById<T extends { id: number }>(streams: AsyncGenerator<T[]>[]): AsyncGenerator<T[]> {
  const pending: Array<{ rows: T[]; at: number } | undefined> = await Promise.all(
    streams.map(async (s) => {
      const n = await s.next();
      return n.done ? undefined : { rows: n.value, at: 0 };
    }),
  );
  let out: T[] = [];
  for (;;) {
    let best = -1;
    for (let k = 0; k < pending.length; k++) {
      const p = pending[k];
      if (p && (best < 0 || Number(p.rows[p.at].id) < Number(pending[best]!.rows[pending[best]!.at].id))) best = k;
    }
    if (best < 0) break;
    const p = pending[best]!;
    out.push(p.rows[p.at++]);
    if (p.at === p.rows.length) {
      const n = await streams[best].next();
      pending[best] = n.done || n.value.length === 0 ? undefined : { rows: n.value, at: 0 };
    }
    if (out.length === PAGE_ROWS) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}

/** Each row's exact file bytes from every backend at once, in id order: what export writes. */
export async function* shardedOriginalPages(
  db: Db,
  table: string,
  filter: PixelFilter,
  shards: readonly Shard[],
): AsyncGenerator<OriginalRow[]> {
  const opened: ShardConnection[] = [];
  try {
    const streams: AsyncGenerator<OriginalRow[]>[] = [];
    let throughHead = false;
    for (const shard of shards) {
      if (!shard.direct) {
        throughHead = true;
        break;
      }
      try {
        const conn = await connectShard(db, shard);
        opened.push(conn);
        streams.push(originalPages(conn, table, filter));
      } catch {
        throughHead = true;
        break;
      }
    }
    // A backend out of reach: the head serves the whole stream (it is already id-ordered).
    if (throughHead) {
      yield* originalPages(db, table, filter);
      return;
    }
    yield* mergeById(streams);
  } finally {
    await Promise.all(opened.map((c) => c.close()));
  }
}

/**
 * Pixels of the given rows (ids with their content hashes), each shard's asked of its backend
 * directly, all at once: a streamed epoch's chunk. A backend out of reach answers through the head.
 */
export async function pixelsByIdsRouted(
  db: Db,
  table: string,
  ids: readonly number[],
  hashes: readonly Buffer[],
  shards: readonly Shard[],
): Promise<Map<number, Buffer>> {
  // HASH partitioning puts shard value s in partition s mod N (p1 … pN in order).
  const groups = shards.map(() => [] as number[]);
  ids.forEach((id, i) => groups[shardOf(hashes[i]) % shards.length].push(id));
  const found = await Promise.all(
    groups.map((group, k) =>
      group.length === 0
        ? new Map<number, Buffer>()
        : onShardOrHead(db, shards[k], (q) => pixelsByIds(q, table, group)),
    ),
  );
  return new Map(found.flatMap((m) => [...m]));
}

const saidUnreachable = new WeakMap<Db, Set<string>>();

/**
 * Where one shard's rows are read from: its backend directly, or the head (`db`, the shard's
 * partition of the Spider table) when this process may not or cannot reach the backend, said
 * once per shard. `connection` is the direct one, for the caller to close.
 */
export async function shardReader(
  db: Db,
  shard: Shard,
): Promise<{ q: Queryable; partition?: string; connection?: ShardConnection }> {
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
    const connection = await connectShard(db, shard);
    return { q: connection, connection };
  } catch (e) {
    if (backendTimedOut(e)) throw e; // silent, not unreachable: the head would wait on it too
    return throughHead(`${shard.host}:${shard.port}: ${(e as { cause?: { code?: string } }).cause?.code ?? 'error'}`);
  }
}
