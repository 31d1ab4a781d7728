import type mysql from 'mysql2/promise';

/**
 * Every statement on a pool's connection waits at most `timeoutMs` (statementTimeoutSeconds): a
 * server that accepts connections but never answers (a stopped process, a hung disk) fails the
 * statement as if it were down, instead of holding the caller for ever. The driver's timeout only
 * stops waiting: the connection still expects the server's answer to that statement, and would
 * queue the next one behind it unbounded, so a connection that timed out is closed and never
 * handed out again.
 */

/** A Spider head's own bound on a backend that does not answer, beyond MLDB_BACKEND_TIMEOUT: its 6 s connect. */
const HEAD_MARGIN_SECONDS = 10;

/**
 * How long one statement may wait for the server: MLDB_BACKEND_TIMEOUT (60 s by default), the
 * bound of every wait on a backend, plus the margin a Spider head needs to give up on a backend
 * itself, so that on a head the answer naming the frozen shard arrives first.
 */
export function statementTimeoutSeconds(backendTimeoutSeconds: number): number {
  return backendTimeoutSeconds + HEAD_MARGIN_SECONDS;
}

/** The driver's code for a statement that outlived its `timeout`. */
export function statementTimedOut(e: unknown): boolean {
  return (e as { code?: string } | undefined)?.code === 'PROTOCOL_SEQUENCE_TIMEOUT';
}

/** One statement on `conn`, bounded; its connection is destroyed when it times out. */
export async function boundedStatement(
  conn: mysql.PoolConnection,
  options: { sql: string; rowsAsArray?: boolean },
  params: unknown[],
  timeoutMs: number,
): Promise<unknown> {
  try {
    const [rows] = await conn.query({ ...options, timeout: timeoutMs }, params);
    return rows;
  } catch (e) {
    if (statementTimedOut(e)) conn.destroy();
    throw e;
  }
}

/** Connections that already ran their session setup (keyed by the driver's own connection). */
const prepared = new WeakSet<object>();

/**
 * A connection of the pool, on which `setup` (session settings) ran once when it was new, each
 * statement bounded and awaited before any other statement: a setup statement left waiting on a
 * frozen server would hold every statement queued behind it. A setup statement the server refuses
 * (a variable it does not have) is skipped.
 */
export async function boundedConnection(
  pool: mysql.Pool,
  setup: readonly string[],
  timeoutMs: number,
): Promise<mysql.PoolConnection> {
  const conn = await pool.getConnection();
  const core = (conn as unknown as { connection: object }).connection;
  if (prepared.has(core)) return conn;
  prepared.add(core);
  for (const sql of setup) {
    try {
      await boundedStatement(conn, { sql }, [], timeoutMs);
    } catch (e) {
      if (statementTimedOut(e)) throw e;
    }
  }
  return conn;
}
