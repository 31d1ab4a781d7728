import type { Dataset } from '../db/registry';
import { describeShape, resizeText } from './shared/shapes';
import type { ResizeMode } from '../image-shape';
import type { Output } from '../ui/output';
import type { CommandContext } from './context';
import { parseFraction, parsePositiveInt, parseShape } from './options';

export interface CreateTableFlags {
  size?: string;
  channels?: string;
  testFraction?: string;
  validationFraction?: string;
  shards?: string;
  /** One of RESIZE_MODES (commander checks the choice). */
  resize?: ResizeMode;
}

/** `--shards N|all`: how many of the Spider head's servers the table spreads over. */
export function parseShards(text: string | undefined): number | 'all' | undefined {
  if (text === undefined) return undefined;
  if (text === 'all') return 'all';
  return parsePositiveInt('--shards', text, { max: 1024 });
}

export async function run(
  ctx: CommandContext,
  name: string | undefined,
  flags: CreateTableFlags,
): Promise<{ dataset: Dataset }> {
  const dataset = await ctx.mldb().createTable(name ?? ctx.config().table, {
    shape: parseShape(flags.size, flags.channels),
    resize: flags.resize,
    testFraction: parseFraction('--test-fraction', flags.testFraction),
    validationFraction: parseFraction('--validation-fraction', flags.validationFraction),
    shards: parseShards(flags.shards),
  });
  return { dataset };
}

export function print({ dataset }: { dataset: Dataset }, out: Output): void {
  out.line(
    `created table "${dataset.name}" (${describeShape(dataset)}, resize ${resizeText(dataset.resize)}; ` +
      `test ${dataset.testFraction}, validation ${dataset.validationFraction}` +
      `${dataset.shards ? `; sharded over ${dataset.shards} servers by content hash` : ''})`,
  );
  out.line(`next: mldb import DIR --table ${dataset.name}`);
}
