import type { Db } from './db';
import { escapeId } from './identifiers';
import { createDatasetTableSql } from './schema';

/** A dataset table's existence: one table per dataset (see schema.ts). */

export async function datasetTableExists(db: Db, name: string): Promise<boolean> {
  const rows = await db.query(
    'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    [name],
  );
  return rows.length > 0;
}

export async function createDatasetTable(db: Db, name: string): Promise<void> {
  await db.run(createDatasetTableSql(name));
}

export async function dropDatasetTable(db: Db, name: string): Promise<void> {
  await db.run(`DROP TABLE IF EXISTS ${escapeId(name)}`);
}
