import type { DatasetSummary } from '../db/registry';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import { formatBytes, formatCount } from '../ui/terminal';
import type { CommandContext } from './context';
import { resizeText, shapeText } from './shared/shapes';

export async function run(ctx: CommandContext): Promise<{ tables: DatasetSummary[] }> {
  return { tables: await ctx.mldb().listTables() };
}

export function print({ tables }: { tables: DatasetSummary[] }, out: Output): void {
  if (tables.length === 0) {
    out.line('no dataset tables yet: mldb create-table, then mldb import DIR');
    return;
  }
  out.line(
    renderTable(
      ['table', 'rows', 'labels', 'shape', 'resize', 'size', 'created'],
      tables.map((t) => [
        t.name,
        formatCount(t.rows) + (t.shardRows ? ` (${t.shardRows.map((s) => formatCount(s.rows)).join(' + ')})` : ''),
        t.labels,
        shapeText(t.shape),
        resizeText(t.resize),
        formatBytes(t.bytes),
        t.createdAt.toISOString().slice(0, 19).replace('T', ' '),
      ]),
      ['left', 'right', 'right', 'left', 'left', 'right', 'left'],
    ),
  );
}
