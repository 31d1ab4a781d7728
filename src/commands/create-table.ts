import type { Dataset } from '../db/datasets';
import type { Output } from '../ui/output';
import type { CommandContext } from './context';
import { parseFraction, parseShape } from './options';

export interface CreateTableFlags {
  size?: string;
  channels?: string;
  testFraction?: string;
  validationFraction?: string;
}

export async function run(
  ctx: CommandContext,
  name: string | undefined,
  flags: CreateTableFlags,
): Promise<{ dataset: Dataset }> {
  const shape = parseShape(flags.size, flags.channels);
  const fullShape =
    shape?.height && shape.width
      ? { height: shape.height, width: shape.width, channels: shape.channels ?? 1 }
      : undefined;
  const dataset = await ctx.mldb().createTable(name ?? ctx.config().table, {
    shape: fullShape,
    testFraction: parseFraction('--test-fraction', flags.testFraction),
    validationFraction: parseFraction('--validation-fraction', flags.validationFraction),
  });
  return { dataset };
}

export function print({ dataset }: { dataset: Dataset }, out: Output): void {
  const s = dataset.shape;
  out.line(
    `created table "${dataset.name}" (${s ? `${s.height}x${s.width}x${s.channels}` : 'shape from the first image imported'}; ` +
      `test ${dataset.testFraction}, validation ${dataset.validationFraction})`,
  );
  out.line(`next: mldb import DIR --table ${dataset.name}`);
}
