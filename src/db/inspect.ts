import mysql from 'mysql2/promise';
import type { MldbConfig } from '../config';
import type { MldbError } from '../errors';
import { translateDbError } from './pool';
import type { HeldPrivileges } from './privileges';

/** What `mldb doctor` learns of the configured server, without creating or migrating anything. */
export interface ServerFacts {
  version: string;
  maxAllowedPacket: number;
  /** Whether the configured database exists (as far as this user may see). */
  databaseExists: boolean;
  /** The newest migration it has had; undefined when it has none yet (or may not be read). */
  schemaVersion?: number;
  /** undefined when the server checks no privileges (started with its grant tables skipped). */
  privileges?: HeldPrivileges;
  /** Who the server says we are (`user@host`), for the privilege lines. */
  account: string;
}

export type Inspection = { reachable: true; facts: ServerFacts } | { reachable: false; error: MldbError };

/** One connection, a few reads of information_schema, closed again; an unreachable server is a result, not a throw. */
export async function inspectServer(config: MldbConfig): Promise<Inspection> {
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection({
      host: config.host,
      port: config.port,
      user: config.user,
      password: config.password.reveal(),
      connectTimeout: 5_000,
    });
  } catch (e) {
    return { reachable: false, error: translateDbError(e, config) };
  }
  try {
    return { reachable: true, facts: await readFacts(conn, config.database) };
  } catch (e) {
    return { reachable: false, error: translateDbError(e, config) };
  } finally {
    await conn.end().catch(() => undefined);
  }
}

async function rows<T>(conn: mysql.Connection, sql: string, params: unknown[] = []): Promise<T[]> {
  const [result] = await conn.query(sql, params);
  return result as T[];
}

async function readFacts(conn: mysql.Connection, database: string): Promise<ServerFacts> {
  const [server] = await rows<{ version: string; packet: number | string; account: string }>(
    conn,
    'SELECT VERSION() AS version, @@max_allowed_packet AS packet, CURRENT_USER() AS account',
  );
  const exists = await rows(conn, 'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [database]);
  let schemaVersion: number | undefined;
  const versioned = await rows(
    conn,
    'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [database, 'mldb_schema'],
  );
  if (versioned.length > 0) {
    const [v] = await rows<{ v: number | null }>(
      conn,
      `SELECT MAX(version) AS v FROM ${mysql.escapeId(database)}.mldb_schema`,
    ).catch(() => [{ v: null }]);
    schemaVersion = v.v ?? undefined;
  }
  return {
    version: server.version,
    maxAllowedPacket: Number(server.packet),
    databaseExists: exists.length > 0,
    schemaVersion,
    // A server whose grant tables are skipped knows no accounts: CURRENT_USER() is "@".
    privileges: server.account === '@' ? undefined : await heldPrivileges(conn, database, server.account),
    account: server.account,
  };
}

/** The current account's grants, from the information_schema views every user may read about itself. */
async function heldPrivileges(conn: mysql.Connection, database: string, account: string): Promise<HeldPrivileges> {
  const at = account.lastIndexOf('@');
  const grantee = `'${account.slice(0, at)}'@'${account.slice(at + 1)}'`;
  const names = (r: { p: string }[]) => new Set(r.map((x) => x.p));
  const global = await rows<{ p: string }>(
    conn,
    'SELECT PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?',
    [grantee],
  );
  const schema = await rows<{ p: string }>(
    conn,
    'SELECT PRIVILEGE_TYPE AS p FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = ?',
    [grantee, database],
  );
  const perTable = await rows<{ t: string; p: string }>(
    conn,
    'SELECT TABLE_NAME AS t, PRIVILEGE_TYPE AS p FROM information_schema.TABLE_PRIVILEGES ' +
      'WHERE GRANTEE = ? AND TABLE_SCHEMA = ?',
    [grantee, database],
  );
  const tables = new Map<string, Set<string>>();
  for (const { t, p } of perTable) tables.set(t, (tables.get(t) ?? new Set()).add(p));
  return { global: names(global), database: names(schema), tables };
}
