import mysql from 'mysql2/promise';
import { DatabaseError, UsageError } from '../errors';
import { redact, Secret } from '../secret';
import type { Db, Queryable } from './db';
import { escapeId } from './identifiers';
import { createShardedTableSql } from './schema';
import { UTC_SESSION } from './session-time';
import { historyRows } from './version-reads';

/**
 * Dataset tables sharded by MariaDB Spider: the head holds a Spider table partitioned by
 * HASH(shard) whose partitions name servers registered on the head (CREATE SERVER); each backend
 * holds a plain InnoDB table with the same columns. This module creates and drops the pieces and
 * reads the shard map; training's loads (samples/bulk-read.ts) and imports (shard-writes.ts) use
 * it to go to the backends directly, and every other command works through the head unchanged.
 */

/** A backend as the head knows it (mysql.servers). The password never leaves this process. */
export interface ShardServer {
  name: string;
  host: string;
  port: number;
  user: string;
  /** Secret: renders as *** anywhere it is printed or serialized. */
  password: Secret;
}

/** One partition of a sharded table and the server that holds it. */
export interface Shard extends ShardServer {
  partition: string;
  /** The backend's database, where its part of the table lives. */
  database: string;
  /** False when this user may not read the backends' addresses (mysql.servers): read through the head. */
  direct: boolean;
}

/** The shard column's value for an image: its hash's first two bytes (the head takes it mod N). */
export function shardOf(sha256: Buffer): number {
  return sha256.readUInt16BE(0);
}

export async function isSpiderHead(db: Db): Promise<boolean> {
  const rows = await db.query(
    "SELECT 1 FROM information_schema.ENGINES WHERE ENGINE = 'SPIDER' AND SUPPORT IN ('YES', 'DEFAULT')",
  );
  return rows.length > 0;
}

/** The backends registered on the head, in name order (mldb_shard_2 before mldb_shard_10). */
export async function shardServers(db: Db): Promise<ShardServer[]> {
  const rows = await db.query<{ name: string; host: string; port: number; user: string; password: string }>(
    `SELECT Server_name AS name, Host AS host, Port AS port, Username AS user, Password AS password
     FROM mysql.servers WHERE Wrapper = 'mysql'`,
  );
  return rows
    .map((r) => ({ ...r, port: Number(r.port) || 3306, host: r.host || '127.0.0.1', password: new Secret(r.password) }))
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/** `--shards N|all` against the servers the head has. */
export async function chooseShardServers(db: Db, shards: number | 'all'): Promise<ShardServer[]> {
  if (!(await isSpiderHead(db))) {
    throw new UsageError(
      `shards needs a MariaDB Spider head, and ${db.config.host}:${db.config.port} has no Spider engine`,
      'connect to a Spider head (a MariaDB server with INSTALL SONAME "ha_spider" and its backends registered)',
      { field: 'shards', reason: 'spider-missing' },
    );
  }
  const servers = await shardServers(db);
  const wanted = shards === 'all' ? servers.length : shards;
  if (servers.length === 0 || wanted > servers.length) {
    throw new UsageError(
      `shards ${shards}: the head knows ${servers.length} backend server(s)`,
      'register more with CREATE SERVER, or ask for fewer',
      { field: 'shards', reason: 'shards-unavailable' },
    );
  }
  return servers.slice(0, wanted);
}

/** A direct connection to one backend; errors name the shard, never with its password. */
export interface ShardConnection extends Queryable {
  close(): Promise<void>;
}

function shardError(server: ShardServer, e: unknown): DatabaseError {
  if (e instanceof DatabaseError) return e;
  if (backendTimedOut(e))
    return new DatabaseError(
      `shard ${server.name} (${server.host}:${server.port}) does not answer`,
      'the backend accepts connections but does not reply (stopped or overloaded): when it answers again, run ' +
        'the command again (nothing is lost or duplicated)',
      { cause: e, reason: 'shard-failed', subject: server.name },
    );
  const err = e as { code?: string; sqlMessage?: string; message?: string };
  const what = redact(err.sqlMessage ?? err.message ?? String(e), [server.password]);
  return new DatabaseError(
    `shard ${server.name} (${server.host}:${server.port}): ${what}${err.code ? ` (${err.code})` : ''}`,
    'check that the backend server is running and reachable from here',
    { cause: e, reason: 'shard-failed', subject: server.name },
  );
}

/**
 * Every wait on a backend is bounded: a backend that accepts connections but does not answer (a
 * stopped process, a hung disk) fails the statement like a backend that is down, naming the
 * shard, instead of holding the import for minutes. A batch INSERT under max_allowed_packet takes
 * well under a second on a working backend. Statements wait MLDB_BACKEND_TIMEOUT (60 s by default).
 */
const BACKEND_CONNECT_TIMEOUT_MS = 10_000;

/** The backend accepted nothing within the bound, or stopped answering a statement. */
export function backendTimedOut(e: unknown): boolean {
  for (let err = e as { code?: string; cause?: unknown } | undefined; err; err = err.cause as typeof err)
    if (err.code === 'ETIMEDOUT' || err.code === 'PROTOCOL_SEQUENCE_TIMEOUT') return true;
  return false;
}

async function connectBackend(server: ShardServer, seconds: number, database?: string): Promise<ShardConnection> {
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection({
      host: server.host,
      port: server.port,
      user: server.user,
      password: server.password.reveal(),
      database,
      connectTimeout: BACKEND_CONNECT_TIMEOUT_MS,
      supportBigNumbers: true,
      charset: 'utf8mb4',
      timezone: 'Z',
    });
  } catch (e) {
    throw shardError(server, e);
  }
  const timeout = seconds * 1000;
  conn.on('error', () => undefined); // a dropped connection fails the next query, which says so
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw shardError(server, e);
    }
  };
  await run(() => conn.query({ sql: UTC_SESSION, timeout }));
  return {
    query: <T>(sql: string, params: unknown[] = []) =>
      run(async () => (await conn.query({ sql, timeout }, params))[0] as T[]),
    queryArrays: (sql: string, params: unknown[] = []) =>
      run(async () => (await conn.query({ sql, rowsAsArray: true, timeout }, params))[0] as unknown[][]),
    run: (sql: string, params: unknown[] = []) =>
      run(async () => {
        const r = (await conn.query({ sql, timeout }, params))[0] as mysql.ResultSetHeader;
        return { affectedRows: r.affectedRows, insertId: Number(r.insertId) };
      }),
    close: () => conn.end().catch(() => undefined),
  };
}

/** A direct connection to a shard's backend, in the table's database, bounded as the head's pool (`db`) is. */
export function connectShard(db: Db, shard: Shard): Promise<ShardConnection> {
  return connectBackend(shard, db.backendTimeoutSeconds, shard.database);
}

/** Runs `fn` on a direct connection to one backend (no database chosen), then closes it. */
async function onBackend<T>(db: Db, server: ShardServer, fn: (q: Queryable) => Promise<T>): Promise<T> {
  const conn = await connectBackend(server, db.backendTimeoutSeconds);
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

/**
 * Runs `fn` on the shard's backend directly, or through the head (`db`) when this process may not
 * or cannot reach it (or `direct` is false): one shard's part of a routed write or lookup.
 */
export async function onShardOrHead<T>(
  db: Db,
  shard: Shard,
  fn: (q: Queryable) => Promise<T>,
  { direct = true }: { direct?: boolean } = {},
): Promise<T> {
  if (!direct || !shard.direct) return fn(db);
  let conn: ShardConnection;
  try {
    conn = await connectShard(db, shard);
  } catch (e) {
    // Accepted but silent: the head would wait on the same backend. Refused or unroutable from
    // here: the head may still reach it.
    if (backendTimedOut(e)) throw e;
    return fn(db);
  }
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

/**
 * Runs `fn` on every backend of a sharded table, in turn, on a direct connection in the table's
 * database: a schema change the head cannot make for them (DDL on a Spider table changes the
 * head's definition only). A backend that cannot be reached directly is an error naming it.
 */
export async function onEveryBackend(db: Db, table: string, fn: (q: Queryable) => Promise<void>): Promise<void> {
  for (const shard of await shardMap(db, table)) {
    if (!shard.direct) {
      throw new DatabaseError(
        `table "${table}": shard ${shard.name} cannot be changed from here (${db.config.user} may not read ` +
          "the backends' addresses in mysql.servers)",
        'run this once as a user who may (the schema upgrade changes every backend of a sharded table)',
        { reason: 'shard-failed', subject: shard.name },
      );
    }
    await onBackend(db, shard, async (conn) => {
      await conn.query(`USE ${escapeId(shard.database)}`);
      await fn(conn);
    });
  }
}

/**
 * The backend tables, then the head's Spider table over them. A failure removes what this call
 * created, so a retry starts clean.
 */
export async function createShardedTable(db: Db, table: string, servers: ShardServer[]): Promise<void> {
  const database = db.config.database;
  const created: ShardServer[] = [];
  try {
    for (const server of servers) {
      await onBackend(db, server, async (conn) => {
        await conn.query(`CREATE DATABASE IF NOT EXISTS ${escapeId(database)} CHARACTER SET utf8mb4`);
        await conn.query(`USE ${escapeId(database)}`);
        await conn.query(createShardedTableSql(table, 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin'));
      });
      created.push(server);
    }
    const partitions = servers
      .map((s, i) => `PARTITION p${i + 1} COMMENT=${quoteComment(`srv "${s.name}"`)}`)
      .join(', ');
    const spider =
      `ENGINE=SPIDER DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ` +
      `COMMENT=${quoteComment(`wrapper "mysql", database "${database}", table "${table}"`)} ` +
      `PARTITION BY HASH(shard) (${partitions})`;
    await db.run(createShardedTableSql(table, spider));
  } catch (e) {
    await Promise.all(
      created.map((s) =>
        onBackend(db, s, (conn) => conn.query(`DROP TABLE IF EXISTS ${escapeId(database)}.${escapeId(table)}`)).catch(
          () => undefined,
        ),
      ),
    );
    throw e;
  }
}

/** A string literal for a COMMENT clause (names are validated identifiers; quotes escaped anyway). */
function quoteComment(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** The partitions of a sharded table on the head, with the backend of each. */
export async function shardMap(db: Db, table: string): Promise<Shard[]> {
  const parts = await db.query<{ partition: string; comment: string }>(
    `SELECT PARTITION_NAME AS \`partition\`, PARTITION_COMMENT AS comment FROM information_schema.PARTITIONS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND PARTITION_NAME IS NOT NULL
     ORDER BY PARTITION_ORDINAL_POSITION`,
    [table],
  );
  // A table partitioned some other way is not sharded by Spider.
  if (parts.length === 0 || !parts.every((p) => /srv\s+"[^"]+"/.test(p.comment))) return [];
  let servers: Map<string, ShardServer> | undefined;
  try {
    servers = new Map((await shardServers(db)).map((s) => [s.name, s]));
  } catch (e) {
    // A user without SELECT on mysql.servers cannot learn the backends: it reads through the head.
    if ((e as { reason?: string }).reason !== 'privilege-missing') throw e;
  }
  return parts.map((p) => {
    const name = /srv\s+"([^"]+)"/.exec(p.comment)![1];
    if (!servers) {
      const unknown = { name, host: '', port: 0, user: '', password: new Secret('') };
      return { ...unknown, partition: p.partition, database: db.config.database, direct: false };
    }
    const server = servers.get(name);
    if (!server) {
      throw new DatabaseError(
        `table "${table}": partition ${p.partition} names server "${name}", which the head does not know`,
        'register it again with CREATE SERVER',
      );
    }
    return { ...server, partition: p.partition, database: db.config.database, direct: true };
  });
}

/**
 * Rows on each shard, counted through the head one partition at a time; of version `asOf` when
 * given: the rows unchanged since, and the rows changed since as they were then (from history on
 * the head), each on the shard its content hash puts it on.
 */
export async function rowsPerShard(
  db: Db,
  table: string,
  asOf?: number,
): Promise<Array<{ shard: Shard; rows: number }>> {
  const shards = await shardMap(db, table);
  const out = [];
  for (const shard of shards) {
    const [row] = await db.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${escapeId(table)} PARTITION (${escapeId(shard.partition)})` +
        (asOf !== undefined ? ' WHERE version <= ?' : ''),
      asOf !== undefined ? [asOf] : [],
    );
    out.push({ shard, rows: Number(row.n) });
  }
  if (asOf !== undefined && out.length > 0) {
    const history = historyRows(table, { asOf });
    for (const r of await db.query<{ sha256: Buffer }>(`SELECT sha256 FROM (${history.sql}) AS v`, history.params))
      out[shardOf(r.sha256) % out.length].rows++;
  }
  return out;
}

/** The head's table, then each backend's (a backend that is down is reported, the rest dropped). */
export async function dropShardedTable(db: Db, table: string): Promise<void> {
  const shards = await shardMap(db, table);
  await db.run(`DROP TABLE IF EXISTS ${escapeId(table)}`);
  const failures: unknown[] = [];
  for (const shard of shards) {
    await onBackend(db, shard, (conn) =>
      conn.query(`DROP TABLE IF EXISTS ${escapeId(shard.database)}.${escapeId(table)}`),
    ).catch((e) => failures.push(e));
  }
  if (failures.length > 0) throw failures[0];
}
