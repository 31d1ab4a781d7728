/**
 * Which driver errors are worth trying again, and retrying the ones that are. The driver's code
 * may sit on the error or on its `cause` (the MldbError that translated it), so both are read.
 */

/** A writer of the same rows got there first: the statement can simply run again. */
const LOCK_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

/** The server is away or restarting, or out of connections: try again later. */
const AWAY_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_CONNECTION_KILLED',
]);

type DriverError = { code?: string; message?: string; cause?: unknown };

function someInChain(e: unknown, test: (err: DriverError) => boolean): boolean {
  for (let err = e as DriverError | undefined; err; err = err.cause as DriverError | undefined) {
    if (test(err)) return true;
  }
  return false;
}

export function isLockConflict(e: unknown): boolean {
  return someInChain(e, (err) => err.code !== undefined && LOCK_CODES.has(err.code));
}

/** A unique key refused the row: another writer took the same key first. */
export function isDuplicateKey(e: unknown): boolean {
  return someInChain(e, (err) => err.code === 'ER_DUP_ENTRY');
}

/**
 * A lock race or the server being away: long-running writers (a watch) pause and retry on these;
 * anything else is a real error (a dropped table, a bad statement) and stops them.
 */
export function isTransientDbError(e: unknown): boolean {
  return (
    isLockConflict(e) ||
    someInChain(
      e,
      (err) =>
        (err.code !== undefined && AWAY_CODES.has(err.code)) ||
        // mysql2 reports a pooled connection that died between uses this way, without a code.
        err.message?.includes('closed state') === true,
    )
  );
}

const LOCK_ATTEMPTS = 8;

/**
 * Statements that can lose a lock race with another writer of the same table — concurrent
 * imports, or a re-run while a killed import's last INSERT is still executing on the server —
 * are retried with backoff: they are idempotent (INSERT … ON DUPLICATE KEY UPDATE id = id, the
 * shape's COALESCE update), so running one again is always safe.
 */
export async function retryOnLockConflict<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= LOCK_ATTEMPTS || !isLockConflict(e)) throw e;
      // Jittered exponential backoff: two writers that collided should not collide again.
      await new Promise((r) => setTimeout(r, 20 * 2 ** attempt * (0.5 + Math.random())));
    }
  }
}
