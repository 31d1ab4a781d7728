import { validateSplit } from '../db/row-selection';
import { type RowSummary } from '../db/row-listings';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import { formatBytes } from '../ui/terminal';
import type { CommandContext } from './context';
import { parsePositiveInt } from './options';

export interface RowsFlags {
  label?: string;
  split?: string;
  limit?: string;
  after?: string;
}

export async function run(
  ctx: CommandContext,
  name: string | undefined,
  flags: RowsFlags,
): Promise<{ table: string; rows: RowSummary[] }> {
  const table = name ?? ctx.config().table;
  const rows = await ctx.mldb().rows(table, {
    label: flags.label,
    split: validateSplit(flags.split),
    limit: parsePositiveInt('--limit', flags.limit, { max: 1_000_000 }) ?? 20,
    afterId: parsePositiveInt('--after', flags.after, { min: 0 }),
  });
  return { table, rows };
}

export function print({ rows }: { rows: RowSummary[] }, out: Output): void {
  if (rows.length === 0) {
    out.line('no rows match');
    return;
  }
  out.line(
    renderTable(
      ['id', 'label', 'split', 'source', 'sha256', 'bytes'],
      rows.map((r) => [r.id, r.label, r.split, r.source, r.sha256.slice(0, 12), formatBytes(r.bytes)]),
      ['right', 'left', 'left', 'left', 'left', 'right'],
    ),
  );
  out.line(`next page: --after ${rows[rows.length - 1].id}`);
}
