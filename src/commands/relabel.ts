import type { EditResult } from '../db/row-edits';
import { UsageError } from '../errors';
import type { CommandContext } from './context';
import { confirmer, parseIds, printEdit, type EditFlags } from './shared/row-edit';

export async function run(
  ctx: CommandContext,
  table: string,
  ids: string[] | undefined,
  flags: EditFlags & { to?: string },
): Promise<EditResult> {
  if (flags.to === undefined) throw new UsageError('relabel needs --to LABEL');
  return ctx.mldb().relabel(table, parseIds(ids), flags.to, {
    dryRun: flags.dryRun,
    confirm: confirmer(flags, 'Relabel'),
  });
}

export const print = printEdit;
