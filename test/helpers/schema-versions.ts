import type mysql from 'mysql2/promise';
import { rawConnection } from './db';

/**
 * Turns a database mldb has migrated back into one of an earlier schema version: `undo` reverts
 * the later steps' DDL on a raw connection (outside mldb, which would migrate), and their rows in
 * mldb_schema go, so that the next mldb connection upgrades it as it would a database of that version.
 */
export async function resetToVersion(
  url: string,
  version: number,
  undo: (conn: mysql.Connection) => Promise<void>,
): Promise<void> {
  const conn = await rawConnection(url);
  try {
    await undo(conn);
    await conn.query('DELETE FROM mldb_schema WHERE version > ?', [version]);
  } finally {
    await conn.end();
  }
}
