import type { Db, Queryable } from './db';
import { escapeId } from './identifiers';
import { resolveVersion } from './table-versions';
import { inTransaction } from './transaction';
import { ROW_HISTORY_TABLE, TABLE_VERSIONS_TABLE } from './version-schema';

/**
 * Forgetting a table's versions before one: the history states that ended by then (with the
 * bytes of the rows removed by then) and the versions' records. Versions from `before` on still
 * read exactly as they did; earlier ones cannot be read any more.
 */

export interface PurgeResult {
  table: string;
  before: number;
  /** Version records dropped (those numbered below `before`). */
  versions: number;
  /** History states dropped. */
  historyRows: number;
  /** Of those, rows removed by an edit whose bytes were kept until now. */
  removedRows: number;
  /** Bytes of those rows' originals and pixels. */
  bytes: number;
  dryRun: boolean;
}

const HISTORY = escapeId(ROW_HISTORY_TABLE);
const VERSIONS = escapeId(TABLE_VERSIONS_TABLE);

export async function purgeHistory(
  db: Db,
  table: string,
  at: string,
  opts: { dryRun?: boolean; confirm?: (plan: PurgeResult) => Promise<boolean> } = {},
): Promise<PurgeResult> {
  const before = await resolveVersion(db, table, at);
  const plan = await measure(db, table, before, true);
  if (opts.dryRun) return plan;
  if (plan.versions + plan.historyRows > 0 && opts.confirm && !(await opts.confirm(plan))) {
    return { ...plan, versions: 0, historyRows: 0, removedRows: 0, bytes: 0 };
  }
  return inTransaction(db, async (conn) => {
    const done = await measure(conn, table, before, false);
    await conn.run(`DELETE FROM ${HISTORY} WHERE dataset = ? AND valid_to <= ?`, [table, before]);
    await conn.run(`DELETE FROM ${VERSIONS} WHERE dataset = ? AND version < ?`, [table, before]);
    return done;
  });
}

async function measure(q: Queryable, table: string, before: number, dryRun: boolean): Promise<PurgeResult> {
  const [h] = await q.query<{ n: number; removed: number | null; bytes: number | null }>(
    `SELECT COUNT(*) AS n, SUM(removed) AS removed,
       SUM(COALESCE(LENGTH(original), 0) + COALESCE(LENGTH(pixels), 0)) AS bytes
     FROM ${HISTORY} WHERE dataset = ? AND valid_to <= ?`,
    [table, before],
  );
  const [v] = await q.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${VERSIONS} WHERE dataset = ? AND version < ?`, [
    table,
    before,
  ]);
  return {
    table,
    before,
    versions: Number(v.n),
    historyRows: Number(h.n),
    removedRows: Number(h.removed ?? 0),
    bytes: Number(h.bytes ?? 0),
    dryRun,
  };
}
