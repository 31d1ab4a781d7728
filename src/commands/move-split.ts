import type { EditResult } from '../db/row-edits';
import { validateSplit } from '../db/row-selection';
import { UsageError } from '../errors';
import type { CommandContext } from './context';
import { confirmer, parseIds, printEdit, type EditFlags } from './shared/row-edit';

export async function run(
  ctx: CommandContext,
  table: string,
  ids: string[] | undefined,
  flags: EditFlags & { to?: string },
): Promise<EditResult> {
  if (flags.to === undefined) throw new UsageError('move-split needs --to SPLIT', 'use train, validation or test');
  return ctx.mldb().moveSplit(table, parseIds(ids), validateSplit(flags.to)!, {
    dryRun: flags.dryRun,
    confirm: confirmer(flags, 'Move'),
  });
}

export const print = printEdit;
