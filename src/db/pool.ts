import mysql from 'mysql2/promise';
import type { MldbConfig } from '../config';
import { DEFAULT_BACKEND_TIMEOUT_SECONDS, describeTarget } from '../config';
import { DatabaseError, MldbError } from '../errors';
import { redact } from '../secret';
import { boundedConnection, boundedStatement, statementTimeoutSeconds } from './bounded-statements';
import { escapeId } from './identifiers';
import type { Db, Queryable } from './db';
import { migrate } from './migrations';
import { UTC_SESSION } from './session-time';

/** No connection could be made. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'EAI_AGAIN']);
/** A connection that worked was cut: the server stopped, restarted or killed it. */
const LOST = new Set(['ECONNRESET', 'EPIPE', 'PROTOCOL_CONNECTION_LOST', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED']);

/** Turns a driver error into a one-line MldbError; `reason` lets the CLI add what to run. */
export function translateDbError(
  e: unknown,
  config: MldbConfig,
  backendSeconds = DEFAULT_BACKEND_TIMEOUT_SECONDS,
): MldbError {
  if (e instanceof MldbError) return e;
  const err = e as { code?: string; message?: string; sqlMessage?: string };
  const target = `${config.host}:${config.port}`;
  if (err.code && UNREACHABLE.has(err.code)) {
    return new DatabaseError(
      `cannot reach a MySQL server at ${target} (${err.code})`,
      `check that the server is running and that the connection settings (from ${config.source}) are right`,
      { cause: e, reason: `server-unreachable:${config.source}` },
    );
  }
  if ((err.code && LOST.has(err.code)) || err.message?.includes('closed state')) {
    return new DatabaseError(
      `lost the connection to the MySQL server at ${target} (${err.code ?? 'connection closed'})`,
      'the server stopped or restarted: when it is back, run the command again (an import resumes where it stopped)',
      { cause: e, reason: 'server-lost' },
    );
  }
  if (err.code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
    return new DatabaseError(
      `the MySQL server at ${target} did not answer a statement within ${statementTimeoutSeconds(backendSeconds)} s`,
      'it is stopped, frozen or overloaded: when it answers again, run the command again ' +
        '(MLDB_BACKEND_TIMEOUT sets how long a statement may wait)',
      { cause: e, reason: 'server-timeout' },
    );
  }
  if (err.code === 'ER_CONNECT_TO_FOREIGN_DATA_SOURCE') {
    // A Spider head could not reach one of its backends: "…foreign data source: mldb_shard_2".
    const shard = /data source:\s*(\S+)/.exec(err.sqlMessage ?? '')?.[1] ?? 'a backend';
    return new DatabaseError(
      `shard ${shard} cannot be reached by the head at ${target}`,
      'start that backend server again, then run the command again (nothing is lost or duplicated)',
      { cause: e, reason: 'shard-unreachable', subject: shard },
    );
  }
  if (err.code === 'ER_DBACCESS_DENIED_ERROR') {
    // The password was accepted: this user may not use this database (or it does not exist:
    // the server does not say which to a user without rights on it).
    return new DatabaseError(
      `${config.user} may not use database "${config.database}" on ${target} (or it does not exist)`,
      `ask an administrator for GRANT … ON ${config.database}.* TO ${config.user}, or name a database you may use`,
      { cause: e, reason: 'database-denied' },
    );
  }
  const denied = missingPrivilege(err);
  if (denied) {
    const on = denied.table ? `table ${denied.table}` : `database "${config.database}"`;
    return new DatabaseError(
      `${config.user} lacks the ${denied.privilege} privilege${denied.privilege.includes(',') ? 's' : ''} on ${on}`,
      `ask an administrator for GRANT ${denied.privilege} ON ${denied.table ?? `${config.database}.*`} TO ` +
        `${config.user} (docs/storage.md lists the grants each command needs)`,
      { cause: e, reason: 'privilege-missing', subject: denied.privilege },
    );
  }
  if (err.code === 'ER_ACCESS_DENIED_ERROR') {
    return new DatabaseError(`access denied for ${describeTarget(config)}`, 'check the user and password', {
      cause: e,
      reason: 'access-denied',
    });
  }
  const message = redact(err.sqlMessage ?? err.message ?? String(e), [config.password]);
  return new DatabaseError(`database error${err.code ? ` ${err.code}` : ''}: ${message}`, undefined, { cause: e });
}

/**
 * The privilege a statement was refused for, from the server's own words ("INSERT command denied
 * to user 'u'@'h' for table `db`.`t`"; "you need (at least one of) the PROCESS privilege(s)").
 */
export function missingPrivilege(err: {
  code?: string;
  sqlMessage?: string;
}): { privilege: string; table?: string } | undefined {
  const text = err.sqlMessage ?? '';
  if (err.code === 'ER_TABLEACCESS_DENIED_ERROR' || err.code === 'ER_COLUMNACCESS_DENIED_ERROR') {
    const m = /^([A-Z][A-Z, ]*?) command denied to user .*? for (?:table|column .*? in table) (.+)$/.exec(text);
    if (m) return { privilege: m[1], table: m[2].replace(/`/g, '') };
  }
  if (err.code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR') {
    const m = /the ([A-Z][A-Z_ ,]*?) privilege/.exec(text);
    if (m) return { privilege: m[1] };
  }
  return undefined;
}

/** Connections a pool opens at most (lazily): a bulk read's parallel readers are the most any command uses. */
export const POOL_CONNECTIONS = 8;

function poolOptions(config: MldbConfig, withDatabase: boolean): mysql.PoolOptions {
  return {
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password.reveal(),
    database: withDatabase ? config.database : undefined,
    charset: 'utf8mb4',
    connectionLimit: POOL_CONNECTIONS,
    connectTimeout: 10_000,
    supportBigNumbers: true,
    multipleStatements: false,
    // Times travel as UTC both ways (with the session's time_zone, sessionSetup): a client in
    // another zone than the server reads the same instants and compares --since correctly.
    timezone: 'Z',
  };
}

/** One statement before the pool is wrapped, bounded like every other. */
async function probe(pool: mysql.Pool, sql: string, timeoutMs: number): Promise<void> {
  const conn = await pool.getConnection();
  try {
    await boundedStatement(conn, { sql }, [], timeoutMs);
  } finally {
    conn.release();
  }
}

/** What a pool is opened with besides the connection: the environment's settings, parsed (config.ts). */
export interface PoolSettings {
  /** MLDB_BACKEND_TIMEOUT: seconds a statement waits on a backend (60 by default). */
  backendTimeoutSeconds?: number;
}

/**
 * Opens a pool, checks that it answers, creates the database when it does not exist yet, and
 * brings its schema up to date (db/migrations.ts) before anything else touches it.
 */
export async function openDb(
  config: MldbConfig,
  onNote: (text: string) => void = () => undefined,
  { backendTimeoutSeconds = DEFAULT_BACKEND_TIMEOUT_SECONDS }: PoolSettings = {},
): Promise<Db> {
  const timeoutMs = statementTimeoutSeconds(backendTimeoutSeconds) * 1000;
  let pool = mysql.createPool(poolOptions(config, true));
  try {
    await probe(pool, 'SELECT 1', timeoutMs);
  } catch (e) {
    await pool.end().catch(() => undefined);
    if ((e as { code?: string }).code !== 'ER_BAD_DB_ERROR') throw translateDbError(e, config, backendTimeoutSeconds);
    const admin = mysql.createPool(poolOptions(config, false));
    try {
      await probe(admin, `CREATE DATABASE IF NOT EXISTS ${escapeId(config.database)} CHARACTER SET utf8mb4`, timeoutMs);
    } catch (e2) {
      if ((e2 as { code?: string }).code === 'ER_DBACCESS_DENIED_ERROR')
        throw new DatabaseError(
          `database "${config.database}" does not exist and ${config.user} may not create it`,
          `create it as an administrator (CREATE DATABASE ${config.database}), or name an existing database`,
          { cause: e2, reason: 'database-missing' },
        );
      throw translateDbError(e2, config, backendTimeoutSeconds);
    } finally {
      await admin.end().catch(() => undefined);
    }
    pool = mysql.createPool(poolOptions(config, true));
  }
  const db = wrapPool(pool, config, onNote, backendTimeoutSeconds);
  try {
    await migrate(db);
  } catch (e) {
    await db.close();
    throw e;
  }
  return db;
}

/**
 * Session settings every new connection gets. Times in UTC (session-time.ts). On a Spider head,
 * how long a statement waits on a backend that stopped answering mid-read or mid-write: Spider's
 * default is 600 s, so a frozen backend held an import for ten minutes. Bounded like every other
 * statement (MLDB_BACKEND_TIMEOUT, 60 s). Elsewhere the variables do not exist and the SET fails
 * harmlessly, once per new connection.
 */
function sessionSetup(seconds: number): string[] {
  return [UTC_SESSION, `SET SESSION spider_net_read_timeout = ${seconds}, spider_net_write_timeout = ${seconds}`];
}

type Statement = (options: { sql: string; rowsAsArray?: boolean }, params: unknown[]) => Promise<unknown>;

function wrap(statement: Statement, config: MldbConfig, backendSeconds: number): Queryable {
  const run = async (options: { sql: string; rowsAsArray?: boolean }, params: unknown[]) => {
    try {
      return await statement(options, params);
    } catch (e) {
      throw translateDbError(e, config, backendSeconds);
    }
  };
  return {
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      return (await run({ sql }, params)) as T[];
    },
    async queryArrays(sql: string, params: unknown[] = []): Promise<unknown[][]> {
      return (await run({ sql, rowsAsArray: true }, params)) as unknown[][];
    },
    async run(sql: string, params: unknown[] = []) {
      const r = (await run({ sql }, params)) as mysql.ResultSetHeader;
      return { affectedRows: r.affectedRows, insertId: Number(r.insertId) };
    },
  };
}

/**
 * Every statement, on the pool or in a session, waits at most statementTimeoutSeconds (MLDB_BACKEND_TIMEOUT
 * and a Spider head's margin: 70 s by default) and connecting at most 10 s: a frozen server fails
 * a statement as a stopped one does.
 */
function wrapPool(
  pool: mysql.Pool,
  config: MldbConfig,
  onNote: (text: string) => void,
  backendTimeoutSeconds: number,
): Db {
  let packet: number | undefined;
  const timeoutMs = statementTimeoutSeconds(backendTimeoutSeconds) * 1000;
  const setup = sessionSetup(backendTimeoutSeconds);
  const connection = () => boundedConnection(pool, setup, timeoutMs);
  const base = wrap(
    async (options, params) => {
      const conn = await connection();
      try {
        return await boundedStatement(conn, options, params, timeoutMs);
      } finally {
        conn.release();
      }
    },
    config,
    backendTimeoutSeconds,
  );
  return {
    ...base,
    config,
    backendTimeoutSeconds,
    async session<T>(fn: (conn: Queryable) => Promise<T>): Promise<T> {
      let conn: mysql.PoolConnection;
      try {
        conn = await connection();
      } catch (e) {
        throw translateDbError(e, config, backendTimeoutSeconds);
      }
      try {
        return await fn(
          wrap((options, params) => boundedStatement(conn, options, params, timeoutMs), config, backendTimeoutSeconds),
        );
      } finally {
        conn.release(); // nothing when a statement timed out: that connection was closed
      }
    },
    async maxAllowedPacket() {
      if (packet === undefined) {
        const [row] = await base.query<{ v: number | string }>('SELECT @@max_allowed_packet AS v');
        packet = Number(row.v);
      }
      return packet;
    },
    async close() {
      await pool.end().catch(() => undefined);
    },
    note: onNote,
  };
}
