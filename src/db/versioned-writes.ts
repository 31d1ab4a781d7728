import type { Db } from './db';
import { insertRows, type NewRow } from './row-writes';
import { nextVersion, recordVersion, type VersionKind } from './table-versions';
import { inTransaction } from './transaction';

/**
 * One import batch as one version of an unsharded table: the number is taken first (a row lock
 * released at once, so concurrent imports never wait for each other's INSERT), then the rows and
 * the version's record are written in one transaction. A batch whose rows were all stored
 * already makes no version; a killed import leaves at most an unused number.
 */
export async function insertVersioned(
  db: Db,
  table: string,
  rows: readonly NewRow[],
  kind: VersionKind,
): Promise<number> {
  if (rows.length === 0) return 0;
  const version = await nextVersion(db, table);
  return inTransaction(db, async (conn) => {
    const added = await insertRows(conn, table, rows, undefined, version);
    if (added > 0) await recordVersion(conn, table, version, kind, added);
    return added;
  });
}
