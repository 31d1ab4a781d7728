import { NotFoundError, UsageError } from '../errors';
import type { Db, Queryable } from './db';
import { escapeId } from './identifiers';
import { REGISTRY_TABLE } from './schema';
import { ROW_HISTORY_TABLE, TABLE_VERSIONS_TABLE } from './version-schema';

/** A dataset table's versions: giving out numbers, recording changes, naming and resolving them. */

const VERSIONS = escapeId(TABLE_VERSIONS_TABLE);
const REGISTRY = escapeId(REGISTRY_TABLE);

/** What made a version. */
export type VersionKind = 'baseline' | 'create' | 'import' | 'promote' | 'relabel' | 'remove' | 'move';

export interface TableVersion {
  version: number;
  kind: VersionKind;
  at: Date;
  /** CURRENT_USER() of the session that made it (user@host), where the server says. */
  by: string | null;
  /** Rows added, changed or removed. */
  rows: number;
  tag: string | null;
}

/**
 * The next version number of `table`, as a row lock on its registry row (held until the caller's
 * transaction ends, or released at once outside one): two writers never take the same number,
 * and never deadlock over it as they could over gap locks on MAX(version).
 */
export async function nextVersion(q: Queryable, table: string): Promise<number> {
  // updated_at stays: it says when the registry row (shape, fractions) changed, not the rows.
  const res = await q.run(
    `UPDATE ${REGISTRY} SET version = LAST_INSERT_ID(version + 1), updated_at = updated_at WHERE name = ?`,
    [table],
  );
  if (res.affectedRows !== 1) {
    throw new NotFoundError(`no dataset table "${table}"`, undefined, { reason: 'dataset-missing', subject: table });
  }
  return Number(res.insertId);
}

/** Records what version `version` of `table` was. */
export async function recordVersion(
  q: Queryable,
  table: string,
  version: number,
  kind: VersionKind,
  rows: number,
): Promise<void> {
  await q.run(
    `INSERT INTO ${VERSIONS} (dataset, version, kind, by_user, \`rows\`) VALUES (?, ?, ?, CURRENT_USER(), ?)`,
    [table, version, kind, rows],
  );
}

/**
 * A new table starts at version 0, empty. What a table of the same name dropped behind mldb's
 * back left is forgotten first (asked before deleting, so creating needs no DELETE grant).
 */
export async function startVersions(db: Db, table: string): Promise<void> {
  const [left] = await db.query(`SELECT 1 FROM ${VERSIONS} WHERE dataset = ? LIMIT 1`, [table]);
  if (left) await forgetVersions(db, table);
  await recordVersion(db, table, 0, 'create', 0);
}

/** Drops a table's versions and its rows' history (the table itself is dropped). */
export async function forgetVersions(db: Db, table: string): Promise<void> {
  await db.run(`DELETE FROM ${VERSIONS} WHERE dataset = ?`, [table]);
  await db.run(`DELETE FROM ${escapeId(ROW_HISTORY_TABLE)} WHERE dataset = ?`, [table]);
}

/** Every recorded version of `table`, oldest first. */
export async function listVersions(db: Queryable, table: string): Promise<TableVersion[]> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT version, kind, at, by_user, \`rows\`, tag FROM ${VERSIONS} WHERE dataset = ? ORDER BY version`,
    [table],
  );
  return rows.map(toVersion);
}

/**
 * A page of `table`'s versions, newest first, before version `before` (keyset on the primary key:
 * a table with thousands of import batches lists as fast as one with three).
 */
export async function recentVersions(
  db: Queryable,
  table: string,
  page: { before?: number; limit: number },
): Promise<TableVersion[]> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT version, kind, at, by_user, \`rows\`, tag FROM ${VERSIONS} WHERE dataset = ?` +
      (page.before !== undefined ? ' AND version < ?' : '') +
      ' ORDER BY version DESC LIMIT ?',
    page.before !== undefined ? [table, page.before, page.limit] : [table, page.limit],
  );
  return rows.map(toVersion);
}

function toVersion(r: Record<string, unknown>): TableVersion {
  return {
    version: Number(r.version),
    kind: r.kind as VersionKind,
    at: r.at as Date,
    by: (r.by_user as string | null) ?? null,
    rows: Number(r.rows),
    tag: (r.tag as string | null) ?? null,
  };
}

/** The table's latest version: what a read without `@` sees, and what a run records. */
export async function currentVersion(db: Queryable, table: string): Promise<number> {
  const [row] = await db.query<{ v: number | null }>(`SELECT MAX(version) AS v FROM ${VERSIONS} WHERE dataset = ?`, [
    table,
  ]);
  return Number(row?.v ?? 0);
}

/**
 * The version number `at` names on `table`: a number, or a tag. A version that was never made,
 * or was purged, is an error naming it.
 */
export async function resolveVersion(db: Queryable, table: string, at: string): Promise<number> {
  const byNumber = /^\d+$/.test(at);
  const [row] = await db.query<{ version: number }>(
    `SELECT version FROM ${VERSIONS} WHERE dataset = ? AND ${byNumber ? 'version' : 'tag'} = ?`,
    [table, byNumber ? Number(at) : at],
  );
  if (!row) {
    throw new NotFoundError(`table "${table}" has no version ${byNumber ? at : JSON.stringify(at)}`, undefined, {
      reason: 'version-missing',
      subject: table,
    });
  }
  return Number(row.version);
}

/** Names version `version` (default: the latest) of `table`; a tag names one version at a time. */
export async function tagVersion(db: Db, table: string, tag: string, version?: number): Promise<number> {
  if (tag.length === 0 || tag.length > 191 || /^\d+$/.test(tag) || /[@\s]/.test(tag)) {
    throw new UsageError(
      `invalid tag ${JSON.stringify(tag)}`,
      'use up to 191 characters, not only digits, without spaces or @',
    );
  }
  const v = version ?? (await currentVersion(db, table));
  await resolveVersion(db, table, String(v));
  const [taken] = await db.query<{ version: number }>(`SELECT version FROM ${VERSIONS} WHERE dataset = ? AND tag = ?`, [
    table,
    tag,
  ]);
  if (taken && Number(taken.version) !== v) {
    throw new UsageError(`tag "${tag}" already names version ${taken.version} of "${table}"`, 'choose another name');
  }
  await db.run(`UPDATE ${VERSIONS} SET tag = ? WHERE dataset = ? AND version = ?`, [tag, table, v]);
  return v;
}
