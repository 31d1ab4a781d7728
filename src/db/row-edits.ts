import { canonicalLabel, MAX_LABEL_LENGTH } from '../labels';
import { InvalidDataError, NotFoundError, UsageError } from '../errors';
import type { Db, Queryable } from './db';
import { escapeId } from './identifiers';
import { getDataset } from './registry';
import { validateSplit } from './row-selection';
import type { Split } from './schema';
import { nextVersion, recordVersion } from './table-versions';
import { inTransaction } from './transaction';
import { ROW_HISTORY_TABLE } from './version-schema';

/**
 * Edits of a dataset table's rows — relabel, remove, move to another split — each one version,
 * all or nothing in one transaction. Every edited row's previous state goes to mldb_row_history
 * first (a removed row with its bytes), so older versions still read it (docs/curation.md).
 */

/** Which rows an edit is about: ids, or every row whose source matches a glob, or of a label. */
export interface RowSelector {
  ids?: readonly number[];
  /** `*` any characters, `?` one, matched against the stored source path. */
  source?: string;
  label?: string;
}

export type Edit = { kind: 'relabel'; to: string } | { kind: 'remove' } | { kind: 'move'; to: Split };

export interface EditedRow {
  id: number;
  label: string;
  split: Split;
  source: string;
}

export interface EditResult {
  table: string;
  kind: Edit['kind'];
  /** The label or split the rows were given (relabel, move). */
  to?: string;
  /** The rows as they were before the edit (all of them, with a dry run or not). */
  rows: EditedRow[];
  /** Rows the edit changed: already at the target label or split, a row is left as it is. */
  changed: number;
  /** The version the edit made (none for a dry run or when nothing changed). */
  version?: number;
  dryRun: boolean;
}

export interface EditOptions {
  dryRun?: boolean;
  /** Asked with the rows before anything changes; false leaves the table as it is. */
  confirm?: (rows: EditedRow[]) => Promise<boolean>;
}

const HISTORY = escapeId(ROW_HISTORY_TABLE);

/** Applies `edit` to the selected rows of `table`, or (dry run) says which rows it would change. */
export async function editRows(
  db: Db,
  table: string,
  selector: RowSelector,
  edit: Edit,
  opts: EditOptions = {},
): Promise<EditResult> {
  await getDataset(db, table);
  const target = checkEdit(edit);
  const where = selection(selector);
  const preview = await selectRows(db, table, where, selector, false);
  const base = { table, kind: edit.kind, ...(target !== undefined ? { to: target } : {}) };
  const todo = (rows: EditedRow[]) => rows.filter((r) => !unchanged(r, edit, target));
  if (opts.dryRun) return { ...base, rows: preview, changed: todo(preview).length, dryRun: true };
  if (preview.length > 0 && opts.confirm && !(await opts.confirm(preview))) {
    throw new UsageError(`nothing changed in "${table}": the edit was not confirmed`);
  }
  return inTransaction(db, async (conn) => {
    // Read again under locks: what is edited is what the transaction saw, all of it or none.
    const rows = await selectRows(conn, table, where, selector, true);
    const changing = todo(rows);
    if (changing.length === 0) return { ...base, rows, changed: 0, dryRun: false };
    const version = await nextVersion(conn, table);
    await applyEdit(conn, table, changing, edit, target, version);
    await recordVersion(conn, table, version, edit.kind, changing.length);
    return { ...base, rows, changed: changing.length, version, dryRun: false };
  });
}

function checkEdit(edit: Edit): string | undefined {
  if (edit.kind === 'move') return validateSplit(edit.to);
  if (edit.kind !== 'relabel') return undefined;
  const label = canonicalLabel(edit.to);
  if (label.length === 0) throw new UsageError('the new label is empty');
  if ([...label].length > MAX_LABEL_LENGTH) {
    throw new UsageError(`the new label is longer than ${MAX_LABEL_LENGTH} characters`);
  }
  return label;
}

function unchanged(row: EditedRow, edit: Edit, target: string | undefined): boolean {
  if (edit.kind === 'relabel') return row.label === target;
  if (edit.kind === 'move') return row.split === target;
  return false;
}

/** The WHERE clause of a selector; exactly one way of selecting is given. */
function selection(selector: RowSelector): { sql: string; params: unknown[] } {
  const ways = [selector.ids, selector.source, selector.label].filter((w) => w !== undefined).length;
  if (ways !== 1) {
    throw new UsageError('select rows one way: by ids, by source glob or by label');
  }
  if (selector.ids !== undefined) {
    if (selector.ids.length === 0) throw new UsageError('no row ids given');
    for (const id of selector.ids) {
      if (!Number.isSafeInteger(id) || id < 1) throw new UsageError(`invalid row id "${id}"`);
    }
    return { sql: 'id IN (?)', params: [[...new Set(selector.ids)]] };
  }
  if (selector.source !== undefined) return { sql: "source LIKE ? ESCAPE '!'", params: [globToLike(selector.source)] };
  return { sql: 'label = ?', params: [selector.label] };
}

/**
 * `*` → `%`, `?` → `_`; LIKE's own wildcards and the escape character match themselves. The escape
 * is `!`, not a backslash, whose meaning in a string literal depends on the server's sql_mode.
 */
export function globToLike(glob: string): string {
  return glob
    .replace(/[!%_]/g, (c) => `!${c}`)
    .replace(/\*/g, '%')
    .replace(/\?/g, '_');
}

async function selectRows(
  q: Queryable,
  table: string,
  where: { sql: string; params: unknown[] },
  selector: RowSelector,
  lock: boolean,
): Promise<EditedRow[]> {
  const rows = await q.query<EditedRow>(
    `SELECT id, label, split, source FROM ${escapeId(table)} WHERE ${where.sql} ORDER BY id` +
      (lock ? ' FOR UPDATE' : ''),
    where.params,
  );
  const found = rows.map((r) => ({ ...r, id: Number(r.id) }));
  if (selector.ids !== undefined) {
    const have = new Set(found.map((r) => r.id));
    const missing = [...new Set(selector.ids)].filter((id) => !have.has(id));
    if (missing.length > 0) {
      const shown = missing.slice(0, 10).join(', ') + (missing.length > 10 ? ` (and ${missing.length - 10} more)` : '');
      throw new NotFoundError(`table "${table}" has no row ${shown}; nothing was changed`, undefined, {
        reason: 'row-missing',
        subject: table,
      });
    }
  } else if (found.length === 0) {
    throw new InvalidDataError(`no row of "${table}" matches; nothing was changed`);
  }
  return found;
}

/** Keeps each row's state in history, then changes or removes it: statements over all rows at once. */
async function applyEdit(
  conn: Queryable,
  table: string,
  rows: EditedRow[],
  edit: Edit,
  target: string | undefined,
  version: number,
): Promise<void> {
  const t = escapeId(table);
  const ids = rows.map((r) => r.id);
  for (let i = 0; i < ids.length; i += 5000) {
    const part = ids.slice(i, i + 5000);
    if (edit.kind === 'remove') {
      await conn.run(
        `INSERT INTO ${HISTORY} (dataset, id, valid_from, valid_to, label, split, removed, sha256, source, format,
           orig_width, orig_height, original, pixels, created_at)
         SELECT ?, id, version, ?, label, split, 1, sha256, source, format, orig_width, orig_height, original, pixels,
           created_at FROM ${t} WHERE id IN (?)`,
        [table, version, part],
      );
      await conn.run(`DELETE FROM ${t} WHERE id IN (?)`, [part]);
    } else {
      await conn.run(
        `INSERT INTO ${HISTORY} (dataset, id, valid_from, valid_to, label, split)
         SELECT ?, id, version, ?, label, split FROM ${t} WHERE id IN (?)`,
        [table, version, part],
      );
      const column = edit.kind === 'relabel' ? 'label' : 'split';
      await conn.run(`UPDATE ${t} SET ${column} = ?, version = ? WHERE id IN (?)`, [target, version, part]);
    }
  }
}
