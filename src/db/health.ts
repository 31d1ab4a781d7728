import type { Queryable } from './db';

/** One round trip: whether the server answers at all. */
export async function ping(db: Queryable): Promise<void> {
  await db.query('SELECT 1');
}
