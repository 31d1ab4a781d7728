import type { EditResult } from '../db/row-edits';
import type { CommandContext } from './context';
import { confirmer, parseIds, printEdit, type EditFlags } from './shared/row-edit';

export async function run(
  ctx: CommandContext,
  table: string,
  ids: string[] | undefined,
  flags: EditFlags & { source?: string; label?: string },
): Promise<EditResult> {
  const given = parseIds(ids);
  return ctx.mldb().removeRows(
    table,
    {
      ...(given.length > 0 || (flags.source === undefined && flags.label === undefined) ? { ids: given } : {}),
      ...(flags.source !== undefined ? { source: flags.source } : {}),
      ...(flags.label !== undefined ? { label: flags.label } : {}),
    },
    { dryRun: flags.dryRun, confirm: confirmer(flags, 'Remove') },
  );
}

export const print = printEdit;
