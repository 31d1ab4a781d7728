import type { Db } from './db';
import { insertRows, knownHashes, type KnownHashes, type NewRow } from './row-writes';
import { escapeId } from './identifiers';
import { SHARD_IDS_TABLE } from './schema';
import { onShardOrHead, shardMap, shardOf, type Shard } from './sharding';
import { nextVersion, recordVersion, type VersionKind } from './table-versions';
import { insertVersioned } from './versioned-writes';

/**
 * Writes to a sharded table, routed: each batch is split by shard and each part goes straight to
 * the backend that holds it, all parts at once, instead of through the head (which forwards
 * every row itself: `npm run bench -- shards` measured routed 1.26× faster). Ids are reserved on the head in one block
 * per batch (mldb_shard_ids), in row order, so they stay unique over all shards and rows get the
 * ids the head would have given. Each part is one INSERT … ON DUPLICATE KEY UPDATE on its
 * backend: atomic and idempotent, so a killed import leaves whole parts and a re-run completes
 * it. A backend this process cannot reach directly gets its part through the head, with the same
 * reserved ids.
 */

/** The first of `n` new ids for `table` (the block first … first + n - 1 is this caller's alone). */
export async function reserveIds(db: Db, table: string, n: number): Promise<number> {
  return db.session(async (conn) => {
    for (;;) {
      const r = await conn.run(
        `UPDATE ${escapeId(SHARD_IDS_TABLE)} SET last_id = LAST_INSERT_ID(last_id + ?) WHERE table_name = ?`,
        [n, table],
      );
      if (r.affectedRows === 1) {
        const [row] = await conn.query<{ last: number | string }>('SELECT LAST_INSERT_ID() AS last');
        return Number(row.last) - n + 1;
      }
      // No counter yet (a table sharded before there were counters): start it past every id.
      await conn.run(
        `INSERT IGNORE INTO ${escapeId(SHARD_IDS_TABLE)} (table_name, last_id)
         SELECT ?, COALESCE(MAX(id), 0) FROM ${escapeId(table)}`,
        [table],
      );
    }
  });
}

export async function startShardIds(db: Db, table: string): Promise<void> {
  await db.run(
    `INSERT INTO ${escapeId(SHARD_IDS_TABLE)} (table_name, last_id) VALUES (?, 0)
     ON DUPLICATE KEY UPDATE last_id = last_id`,
    [table],
  );
}

export async function forgetShardIds(db: Db, table: string): Promise<void> {
  await db.run(`DELETE FROM ${escapeId(SHARD_IDS_TABLE)} WHERE table_name = ?`, [table]);
}

/**
 * One batch into a sharded table, each shard's part on its backend at once, as one new version
 * (`versionKind`). Returns rows new. The parts are separate transactions on separate servers: the
 * version is recorded once they are all in (an INSERT, as on one server, so an importer needs no
 * more grants), and a batch whose rows were all stored already makes none. A batch killed before
 * its record leaves rows carrying a number no version lists yet: they read as current rows, not
 * as part of any earlier version, and running the import again records a later version over them.
 */
export async function insertRowsRouted(
  db: Db,
  table: string,
  rows: readonly NewRow[],
  shards: readonly Shard[],
  { direct = true, versionKind = 'import' }: { direct?: boolean; versionKind?: VersionKind } = {},
): Promise<number> {
  if (rows.length === 0) return 0;
  const version = await nextVersion(db, table);
  const added = await insertParts(db, table, rows, shards, version, direct);
  if (added > 0) await recordVersion(db, table, version, versionKind, added);
  return added;
}

async function insertParts(
  db: Db,
  table: string,
  rows: readonly NewRow[],
  shards: readonly Shard[],
  version: number,
  direct: boolean,
): Promise<number> {
  const first = await reserveIds(db, table, rows.length);
  // HASH partitioning puts shard value s in partition s mod N (p1 … pN in order).
  const parts = shards.map(() => ({ rows: [] as NewRow[], ids: [] as number[] }));
  rows.forEach((row, i) => {
    const part = parts[shardOf(row.sha256) % shards.length];
    part.rows.push(row);
    part.ids.push(first + i);
  });
  const counts = await Promise.all(
    parts.map((p, k) =>
      p.rows.length === 0
        ? 0
        : onShardOrHead(db, shards[k], (q) => insertRows(q, table, p.rows, p.ids, version), { direct }),
    ),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * The import's duplicate check on a sharded table: each hash is looked up on the one backend that
 * would hold it, all backends at once (through the head, every lookup would visit every backend).
 */
export async function knownHashesRouted(
  db: Db,
  table: string,
  hashes: readonly Buffer[],
  shards: readonly Shard[],
): Promise<KnownHashes> {
  const groups = shards.map(() => [] as Buffer[]);
  for (const h of hashes) groups[shardOf(h) % shards.length].push(h);
  const found = await Promise.all(
    groups.map((group, k) =>
      group.length === 0 ? new Map() : onShardOrHead(db, shards[k], (q) => knownHashes(q, table, group)),
    ),
  );
  return new Map(found.flatMap((m) => [...m]));
}

/** Where a dataset table's new rows go and how its known hashes are looked up. */
export interface TableWrites {
  knownHashes: (hashes: Buffer[]) => Promise<KnownHashes>;
  insertRows: (rows: NewRow[]) => Promise<number>;
}

/**
 * A table's writes, routed when it is sharded: each batch straight to the backends that hold its
 * rows (or all through the head with `direct: false`), else into the table itself; each batch a
 * new version of it (`versionKind`).
 */
export async function tableWrites(
  db: Db,
  table: string,
  sharded: boolean,
  { direct, versionKind }: { direct: boolean; versionKind: VersionKind },
): Promise<TableWrites> {
  const shards = sharded ? await shardMap(db, table) : [];
  return {
    knownHashes: (hashes) =>
      shards.length > 0 ? knownHashesRouted(db, table, hashes, shards) : knownHashes(db, table, hashes),
    insertRows: (rows) =>
      shards.length > 0
        ? insertRowsRouted(db, table, rows, shards, { direct, versionKind })
        : insertVersioned(db, table, rows, versionKind),
  };
}
