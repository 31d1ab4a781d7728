import type { Db } from './db';
import { escapeId } from './identifiers';

/**
 * A dataset table copied in the layout before versions (no `version` column):
 * what `npm run bench -- curation` reads beside the table itself, so that the cost of versions
 * on a current read is measured in one run on one server.
 */
export async function copyWithoutVersions(db: Db, table: string, copy: string): Promise<void> {
  await dropCopy(db, copy);
  await db.run(`CREATE TABLE ${escapeId(copy)} LIKE ${escapeId(table)}`);
  await db.run(`ALTER TABLE ${escapeId(copy)} DROP COLUMN version`);
  await db.run(
    `INSERT INTO ${escapeId(copy)} SELECT id, label, split, sha256, source, format, orig_width, orig_height, ` +
      `original, pixels, created_at FROM ${escapeId(table)}`,
  );
}

export async function dropCopy(db: Db, copy: string): Promise<void> {
  await db.run(`DROP TABLE IF EXISTS ${escapeId(copy)}`);
}
