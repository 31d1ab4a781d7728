import type { Queryable } from './db';
import { versionSource } from './version-reads';
import type { Split } from './schema';

/**
 * What changed between two versions of a table (or a version and the current rows), as rows:
 * added, removed, relabelled (from → to) and moved (split from → to). Both sides are read as
 * (id, label, split) only, from the table and its history (version-reads.ts).
 */

export interface DiffRow {
  id: number;
  label: string;
  split: Split;
}

export interface ChangedRow {
  id: number;
  from: string;
  to: string;
}

export interface TableDiff {
  table: string;
  /** The two sides (null: the current rows). */
  from: number | null;
  to: number | null;
  added: DiffRow[];
  removed: DiffRow[];
  relabelled: ChangedRow[];
  moved: ChangedRow[];
}

async function rowsAt(q: Queryable, table: string, asOf: number | undefined): Promise<Map<number, DiffRow>> {
  const source = versionSource(table, asOf);
  const rows = await q.query<DiffRow>(`SELECT id, label, split FROM ${source.sql} ORDER BY id`, source.params);
  return new Map(rows.map((r) => [Number(r.id), { ...r, id: Number(r.id) }]));
}

export async function diffVersions(
  q: Queryable,
  table: string,
  from: number | undefined,
  to: number | undefined,
): Promise<TableDiff> {
  const [a, b] = [await rowsAt(q, table, from), await rowsAt(q, table, to)];
  const diff: TableDiff = {
    table,
    from: from ?? null,
    to: to ?? null,
    added: [],
    removed: [],
    relabelled: [],
    moved: [],
  };
  for (const [id, row] of a) {
    const now = b.get(id);
    if (!now) diff.removed.push(row);
    else {
      if (now.label !== row.label) diff.relabelled.push({ id, from: row.label, to: now.label });
      if (now.split !== row.split) diff.moved.push({ id, from: row.split, to: now.split });
    }
  }
  for (const [id, row] of b) if (!a.has(id)) diff.added.push(row);
  return diff;
}

/** A diff's totals and its counts per label: what `mldb diff` prints and the dashboard shows. */
export interface DiffSummary {
  table: string;
  from: number | null;
  to: number | null;
  totals: { added: number; removed: number; relabelled: number; moved: number };
  /** Per label (added, removed: the row's label; relabelled, moved: "from → to"). */
  counts: {
    added: Record<string, number>;
    removed: Record<string, number>;
    relabelled: Record<string, number>;
    moved: Record<string, number>;
  };
}

export function summarizeDiff(d: TableDiff): DiffSummary {
  const arrow = (r: ChangedRow) => `${r.from} → ${r.to}`;
  return {
    table: d.table,
    from: d.from,
    to: d.to,
    totals: {
      added: d.added.length,
      removed: d.removed.length,
      relabelled: d.relabelled.length,
      moved: d.moved.length,
    },
    counts: {
      added: countBy(d.added, (r) => r.label),
      removed: countBy(d.removed, (r) => r.label),
      relabelled: countBy(d.relabelled, arrow),
      moved: countBy(d.moved, arrow),
    },
  };
}

/** How many of `rows` fall under each key, keys in first-seen order. */
export function countBy<T>(rows: readonly T[], key: (row: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[key(r)] = (out[key(r)] ?? 0) + 1;
  return out;
}
