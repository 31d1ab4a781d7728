import type { TableVersion } from '../db/table-versions';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import type { CommandContext } from './context';

export async function run(
  ctx: CommandContext,
  name: string | undefined,
): Promise<{ table: string; versions: TableVersion[] }> {
  const table = name ?? ctx.config().table;
  return { table, versions: await ctx.mldb().versions(table) };
}

export function print({ table, versions }: { table: string; versions: TableVersion[] }, out: Output): void {
  if (versions.length === 0) {
    out.line(`"${table}" has no recorded versions`);
    return;
  }
  out.line(
    renderTable(
      ['version', 'tag', 'what', 'rows', 'when', 'by'],
      versions.map((v) => [v.version, v.tag ?? '', v.kind, v.rows, v.at.toISOString(), v.by ?? '']),
      ['right', 'left', 'left', 'right', 'left', 'left'],
    ),
  );
}
