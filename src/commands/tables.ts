import type { Dataset, DatasetSummary } from '../db/registry';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import { formatBytes, formatCount } from '../ui/terminal';
import type { CommandContext } from './context';

export async function run(ctx: CommandContext): Promise<{ tables: DatasetSummary[] }> {
  return { tables: await ctx.mldb().listTables() };
}

/** "28x28x1", or what is known so far: "shape from the first image (3 channels)". */
export function describeShape(d: Pick<Dataset, 'shape' | 'shapeParts'>): string {
  if (d.shape) return shapeText(d.shape);
  const { height, width, channels } = d.shapeParts;
  const known = [
    height && width ? `${height}x${width}` : '',
    channels ? `${channels} channel${channels === 1 ? '' : 's'}` : '',
  ].filter(Boolean);
  return `shape from the first image imported${known.length ? ` (${known.join(', ')} given)` : ''}`;
}

export function shapeText(s: { height: number; width: number; channels: number } | null): string {
  return s ? `${s.height}x${s.width}x${s.channels}` : '-';
}

export function print({ tables }: { tables: DatasetSummary[] }, out: Output): void {
  if (tables.length === 0) {
    out.line('no dataset tables yet: mldb create-table, then mldb import DIR');
    return;
  }
  out.line(
    renderTable(
      ['table', 'rows', 'labels', 'shape', 'size', 'created'],
      tables.map((t) => [
        t.name,
        formatCount(t.rows) + (t.shardRows ? ` (${t.shardRows.map((s) => formatCount(s.rows)).join(' + ')})` : ''),
        t.labels,
        shapeText(t.shape),
        formatBytes(t.bytes),
        t.createdAt.toISOString().slice(0, 19).replace('T', ' '),
      ]),
      ['left', 'right', 'right', 'left', 'right', 'left'],
    ),
  );
}
