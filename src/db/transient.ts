/**
 * Driver errors that mean "try again later": the server is away or restarting, or a lock could
 * not be had. Long-running writers (a watch) pause and retry on these; anything else is a real
 * error (a dropped table, a bad statement) and stops them.
 */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_CONNECTION_KILLED',
]);

export function isTransientDbError(e: unknown): boolean {
  for (let err = e as { code?: string; message?: string; cause?: unknown } | undefined; err;) {
    if (err.code && TRANSIENT_CODES.has(err.code)) return true;
    // mysql2 reports a pooled connection that died between uses this way, without a code.
    if (err.message?.includes('closed state')) return true;
    err = err.cause as typeof err;
  }
  return false;
}
