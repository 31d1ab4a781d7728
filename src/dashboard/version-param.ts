import type { Db } from '../db/db';
import { resolveReadTarget } from '../db/table-ref';

/**
 * A version named in a query (`at`, `from`, `to`): a number or a tag, resolved as `TABLE@…` is by
 * every read (an unknown one is a 404). Absent: the current rows.
 */
export async function versionParam(db: Db, table: string, at: string | undefined): Promise<number | undefined> {
  if (at === undefined) return undefined;
  return (await resolveReadTarget(db, `${table}@${at}`)).asOf;
}
