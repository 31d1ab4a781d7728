import readline from 'node:readline/promises';
import { UsageError } from '../errors';
import type { Output } from '../ui/output';
import type { CommandContext } from './context';

export async function run(
  ctx: CommandContext,
  name: string | undefined,
  flags: { yes?: boolean },
): Promise<{ dropped: string; rows: number }> {
  const table = name ?? ctx.config().table;
  const details = await ctx.mldb().describe(table);
  if (!flags.yes) {
    if (!process.stdin.isTTY || !process.stderr.isTTY) {
      throw new UsageError(`refusing to drop "${table}" without confirmation`, 'pass --yes when not on a terminal');
    }
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(
      `Drop table "${table}" and its ${details.rows} rows? Type the table name to confirm: `,
    );
    rl.close();
    if (answer.trim() !== table) throw new UsageError('not dropped: the confirmation did not match');
  }
  await ctx.mldb().dropTable(table);
  return { dropped: table, rows: details.rows };
}

export function print(r: { dropped: string; rows: number }, out: Output): void {
  out.line(`dropped table "${r.dropped}" (${r.rows} rows)`);
}
