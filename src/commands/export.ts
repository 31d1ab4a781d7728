import type { ExportSummary } from '../export/export-folder';
import { validateSplit } from '../db/row-selection';
import { UsageError } from '../errors';
import type { Output } from '../ui/output';
import { formatBytes, formatCount } from '../ui/terminal';
import type { CommandContext } from './context';

/** `mldb export [table] <dir>`: one argument is the directory, two are table and directory. */
export async function run(
  ctx: CommandContext,
  args: string[],
  flags: { split?: string; label?: string; table?: string },
): Promise<ExportSummary> {
  if (args.length === 0 || args.length > 2) throw new UsageError('expected `mldb export [table] <dir>`');
  const [table, dir] = args.length === 2 ? args : [flags.table ?? ctx.config().table, args[0]];
  return ctx.mldb().exportTable(dir, { table, split: validateSplit(flags.split), label: flags.label });
}

export function print(s: ExportSummary, out: Output): void {
  out.line(
    `exported ${formatCount(s.written)} files (${formatBytes(s.bytes)}) from ${s.table} to ` +
      `${s.dir}${s.unchanged ? `; ${formatCount(s.unchanged)} were already there` : ''}`,
  );
}
