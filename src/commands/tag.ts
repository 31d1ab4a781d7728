import { UsageError } from '../errors';
import type { Output } from '../ui/output';
import type { CommandContext } from './context';

export async function run(
  ctx: CommandContext,
  table: string,
  tag: string,
  version: string | undefined,
): Promise<{ table: string; tag: string; version: number }> {
  if (version !== undefined && !/^\d+$/.test(version)) {
    throw new UsageError(`invalid version "${version}"`, `give a version number from \`mldb versions ${table}\``);
  }
  const v = await ctx.mldb().tag(table, tag, version === undefined ? undefined : Number(version));
  return { table, tag, version: v };
}

export function print(r: { table: string; tag: string; version: number }, out: Output): void {
  out.line(`${r.table}@${r.tag} is version ${r.version}`);
}
