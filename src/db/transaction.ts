import type { Db, Queryable } from './db';

/** Runs `fn` in one transaction on one connection: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(db: Db, fn: (conn: Queryable) => Promise<T>): Promise<T> {
  return db.session(async (conn) => {
    await conn.run('START TRANSACTION');
    try {
      const result = await fn(conn);
      await conn.run('COMMIT');
      return result;
    } catch (e) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  });
}
