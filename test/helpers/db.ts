import crypto from 'node:crypto';
import mysql from 'mysql2/promise';
import { parseUrl, resolveConfig, type MldbConfig } from '../../src/config';
import { MlDb } from '../../src/mldb';

/** The server URL the global setup chose, with a database name of our own. */
export function testUrl(database: string): string {
  const base = process.env.MLDB_TEST_URL;
  if (!base) throw new Error('MLDB_TEST_URL is not set: the jest global setup did not run');
  const u = new URL(base);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * A fresh database per test file, dropped by `cleanup()`: tests never see each other's tables.
 */
export function freshDatabase(): {
  name: string;
  url: string;
  config: (table?: string) => MldbConfig;
  mldb: (table?: string) => MlDb;
  cleanup: () => Promise<void>;
} {
  const name = `mldb_t_${crypto.randomBytes(5).toString('hex')}`;
  const url = testUrl(name);
  const opened: MlDb[] = [];
  return {
    name,
    url,
    config: (table) => resolveConfig({ url, table }, {}, '/nonexistent-cwd-for-tests'),
    mldb: (table) => {
      const m = new MlDb({ config: resolveConfig({ url, table }, {}, '/nonexistent-cwd-for-tests') });
      opened.push(m);
      return m;
    },
    cleanup: async () => {
      await Promise.all(opened.map((m) => m.close()));
      const p = parseUrl(url);
      const conn = await mysql.createConnection({
        host: p.host,
        port: p.port,
        user: p.user,
        password: p.password ?? '',
      });
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}

/**
 * A plain connection to the database of `url`, outside mldb (which would migrate it), the database
 * created first if absent; several statements a query (a fixture's SQL file).
 */
export async function rawConnection(url: string): Promise<mysql.Connection> {
  const p = parseUrl(url);
  const admin = await mysql.createConnection({ host: p.host, port: p.port, user: p.user, password: p.password ?? '' });
  await admin.query(`CREATE DATABASE IF NOT EXISTS \`${p.database}\``);
  await admin.end();
  return mysql.createConnection({
    host: p.host,
    port: p.port,
    user: p.user,
    password: p.password ?? '',
    database: p.database,
    multipleStatements: true,
  });
}

/**
 * Runs statements as root on a server a test started itself (loopback, no password), in
 * `database` when given; the last statement's rows. What a test checks the server with, bypassing mldb.
 */
export async function queryServer<T = Record<string, unknown>>(
  port: number,
  sql: string | string[],
  database?: string,
): Promise<T[]> {
  const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database });
  try {
    let rows: unknown = [];
    for (const s of Array.isArray(sql) ? sql : [sql]) rows = (await conn.query(s))[0];
    return rows as T[];
  } finally {
    await conn.end();
  }
}
