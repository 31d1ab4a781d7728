import type { Db } from './db';
import { originalPages, type OriginalRow, type PixelFilter } from './dataset-rows';
import { connectShard, type Shard, type ShardConnection } from './sharding';

/**
 * Streaming reads of a sharded table from every backend directly: each backend's pages in id order,
 * merged into one id-ordered stream, so a caller sees exactly what the head (or one server) would
 * return. Used by export; when a backend cannot be reached from here, the whole stream comes
 * through the head instead (already in id order).
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
        const conn = await connectShard(shard);
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
