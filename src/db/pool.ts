import mysql from 'mysql2/promise';
import type { MldbConfig } from '../config';
import { describeTarget } from '../config';
import { DatabaseError, MldbError } from '../errors';
import { redact } from '../secret';
import { escapeId } from './identifiers';

/** The narrow seam the rest of mldb uses: queries with `?` parameters, transactions, close. */
export interface Db {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** For INSERT/UPDATE/DELETE: affected rows and the first insert id. */
  run(sql: string, params?: unknown[]): Promise<{ affectedRows: number; insertId: number }>;
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /** The server's max_allowed_packet in bytes: every batch is sized under it. */
  maxAllowedPacket(): Promise<number>;
  close(): Promise<void>;
  readonly config: MldbConfig;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
]);

/** Turns a driver error into a one-line MldbError that says what to do. */
export function translateDbError(e: unknown, config: MldbConfig): MldbError {
  if (e instanceof MldbError) return e;
  const err = e as { code?: string; message?: string; sqlMessage?: string };
  const target = `${config.host}:${config.port}`;
  if (err.code && UNREACHABLE.has(err.code)) {
    const hint =
      config.source === 'default'
        ? 'set MLDB_URL=mysql://user:password@host:port/database, or run `mldb db start` for a local server'
        : config.source === 'local-server'
          ? 'the local server stopped answering: run `mldb db stop` then `mldb db start`'
          : `check that the server is running and that MLDB_URL (from ${config.source}) is right`;
    return new DatabaseError(`cannot reach a MySQL server at ${target} (${err.code})`, hint, { cause: e });
  }
  if (err.code === 'ER_ACCESS_DENIED_ERROR' || err.code === 'ER_DBACCESS_DENIED_ERROR') {
    return new DatabaseError(
      `access denied for ${describeTarget(config)}`,
      'check the user and password in MLDB_URL or MLDB_USER/MLDB_PASSWORD',
      { cause: e },
    );
  }
  const message = redact(err.sqlMessage ?? err.message ?? String(e), [config.password]);
  return new DatabaseError(`database error${err.code ? ` ${err.code}` : ''}: ${message}`, undefined, { cause: e });
}

function poolOptions(config: MldbConfig, withDatabase: boolean): mysql.PoolOptions {
  return {
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password.reveal(),
    database: withDatabase ? config.database : undefined,
    charset: 'utf8mb4',
    connectionLimit: 4,
    connectTimeout: 10_000,
    supportBigNumbers: true,
    multipleStatements: false,
  };
}

/** Opens a pool, checks that it answers, and creates the database when it does not exist yet. */
export async function openDb(config: MldbConfig): Promise<Db> {
  let pool = mysql.createPool(poolOptions(config, true));
  try {
    await pool.query('SELECT 1');
  } catch (e) {
    await pool.end().catch(() => undefined);
    if ((e as { code?: string }).code !== 'ER_BAD_DB_ERROR') throw translateDbError(e, config);
    const admin = mysql.createPool(poolOptions(config, false));
    try {
      await admin.query(`CREATE DATABASE IF NOT EXISTS ${escapeId(config.database)} CHARACTER SET utf8mb4`);
    } catch (e2) {
      throw translateDbError(e2, config);
    } finally {
      await admin.end().catch(() => undefined);
    }
    pool = mysql.createPool(poolOptions(config, true));
  }
  return wrapPool(pool, config);
}

type Queryable = Pick<mysql.Pool, 'query'>;

function wrap(conn: Queryable, config: MldbConfig) {
  return {
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      try {
        const [rows] = await conn.query(sql, params);
        return rows as T[];
      } catch (e) {
        throw translateDbError(e, config);
      }
    },
    async run(sql: string, params: unknown[] = []) {
      try {
        const [res] = await conn.query(sql, params);
        const r = res as mysql.ResultSetHeader;
        return { affectedRows: r.affectedRows, insertId: Number(r.insertId) };
      } catch (e) {
        throw translateDbError(e, config);
      }
    },
  };
}

function wrapPool(pool: mysql.Pool, config: MldbConfig): Db {
  let packet: number | undefined;
  const base = wrap(pool, config);
  const db: Db = {
    ...base,
    config,
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      let conn: mysql.PoolConnection;
      try {
        conn = await pool.getConnection();
      } catch (e) {
        throw translateDbError(e, config);
      }
      const tx: Db = {
        ...wrap(conn, config),
        config,
        transaction: (inner) => inner(tx),
        maxAllowedPacket: db.maxAllowedPacket,
        close: async () => undefined,
      };
      try {
        await conn.beginTransaction();
        const result = await fn(tx);
        await conn.commit();
        return result;
      } catch (e) {
        await conn.rollback().catch(() => undefined);
        throw translateDbError(e, config);
      } finally {
        conn.release();
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
  };
  return db;
}

/** Opens, runs `fn`, and always closes: the scoped form most callers want. */
export async function withDb<T>(config: MldbConfig, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDb(config);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
