/**
 * Statements that can lose a lock race with another writer of the same table — concurrent
 * imports, or a re-run while a killed import's last INSERT is still executing on the server —
 * are retried with backoff: they are idempotent (INSERT … ON DUPLICATE KEY UPDATE id = id, the
 * shape's COALESCE update), so running one again is always safe.
 */
const LOCK_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);
const ATTEMPTS = 8;

export function isLockConflict(e: unknown): boolean {
  for (let err = e as { code?: string; cause?: unknown } | undefined; err; err = err.cause as typeof err) {
    if (err.code && LOCK_CODES.has(err.code)) return true;
  }
  return false;
}

export async function retryOnLockConflict<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= ATTEMPTS || !isLockConflict(e)) throw e;
      // Jittered exponential backoff: two writers that collided should not collide again.
      await new Promise((r) => setTimeout(r, 20 * 2 ** attempt * (0.5 + Math.random())));
    }
  }
}
