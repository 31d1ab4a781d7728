import { summarizeDiff, type DiffSummary, type TableDiff } from '../db/table-diff';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import type { CommandContext } from './context';

/** `mldb diff A B`: counts per label (and per change), and with --rows the rows themselves. */
export interface DiffReport extends DiffSummary {
  rows?: Omit<TableDiff, 'table' | 'from' | 'to'>;
}

export async function run(ctx: CommandContext, a: string, b: string, flags: { rows?: boolean }): Promise<DiffReport> {
  const d = await ctx.mldb().diff(a, b);
  return {
    ...summarizeDiff(d),
    ...(flags.rows && { rows: { added: d.added, removed: d.removed, relabelled: d.relabelled, moved: d.moved } }),
  };
}

export function print(r: DiffReport, out: Output): void {
  const side = (v: number | null) => (v === null ? `${r.table} (current)` : `${r.table}@${v}`);
  const t = r.totals;
  out.line(
    `${side(r.from)} → ${side(r.to)}: ${t.added} added, ${t.removed} removed, ${t.relabelled} relabelled, ` +
      `${t.moved} moved`,
  );
  const lines = (Object.keys(r.counts) as Array<keyof DiffReport['counts']>).flatMap((kind) =>
    Object.entries(r.counts[kind]).map(([what, n]) => [kind, what, n]),
  );
  if (lines.length > 0) out.line(renderTable(['change', 'label', 'rows'], lines, ['left', 'left', 'right']));
  if (!r.rows) return;
  for (const row of r.rows.added) out.line(`+ ${row.id}  ${row.label}  ${row.split}`);
  for (const row of r.rows.removed) out.line(`- ${row.id}  ${row.label}  ${row.split}`);
  for (const row of r.rows.relabelled) out.line(`~ ${row.id}  label ${row.from} → ${row.to}`);
  for (const row of r.rows.moved) out.line(`~ ${row.id}  split ${row.from} → ${row.to}`);
}
