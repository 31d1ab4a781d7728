import readline from 'node:readline/promises';
import type { PurgeResult } from '../db/history-purge';
import { UsageError } from '../errors';
import type { Output } from '../ui/output';
import { formatBytes, formatCount } from '../ui/terminal';
import type { CommandContext } from './context';

export async function run(
  ctx: CommandContext,
  table: string,
  flags: { before?: string; dryRun?: boolean; yes?: boolean },
): Promise<PurgeResult> {
  if (flags.before === undefined) throw new UsageError('purge needs --before VERSION', 'a version number or tag');
  if (!flags.yes && !flags.dryRun && (!process.stdin.isTTY || !process.stderr.isTTY)) {
    throw new UsageError(`refusing to purge "${table}" without confirmation`, 'pass --yes when not on a terminal');
  }
  const confirm = flags.yes
    ? undefined
    : async (plan: PurgeResult) => {
        const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question(`${freed(plan)}: purge for good? [y/N] `);
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError('nothing purged: not confirmed');
        return true;
      };
  return ctx.mldb().purge(table, flags.before, { dryRun: flags.dryRun, confirm });
}

function freed(r: PurgeResult): string {
  return (
    `versions of "${r.table}" before ${r.before}: ${formatCount(r.versions)} version record(s), ` +
    `${formatCount(r.historyRows)} earlier row state(s), ${formatCount(r.removedRows)} removed row(s) ` +
    `(${formatBytes(r.bytes)})`
  );
}

export function print(r: PurgeResult, out: Output): void {
  out.line(r.dryRun ? `would purge ${freed(r)}; nothing changed (--dry-run)` : `purged ${freed(r)}`);
}
