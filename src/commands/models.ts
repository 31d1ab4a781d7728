import path from 'node:path';
import type { StoredModel } from '../db/models';
import { isMldbError, UsageError } from '../errors';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import { fixed4, formatBytes, formatCount, shortPath } from '../ui/terminal';
import type { CommandContext } from './context';
import { parseShape } from './options';

export interface ModelInfo {
  name: string;
  origin: string;
  /** The smallest height and width it trains on. */
  minSize: number;
  /** At the shape asked for; null when that shape is below minSize. */
  parameters: number | null;
}

export interface ModelsFlags {
  size?: string;
  channels?: string;
  classes?: string;
  name?: string;
  yes?: boolean;
  format?: string;
  out?: string;
}

export type ModelsResult =
  | {
      action: 'list';
      inputShape: number[];
      models: ModelInfo[];
      /** Models kept in the database; null when it could not be read (see `storedError`). */
      stored: StoredModel[] | null;
      storedError?: string;
    }
  | { action: 'push'; model: StoredModel; from: string }
  | { action: 'pull'; model: StoredModel; dir: string }
  | { action: 'rm'; model: StoredModel }
  | { action: 'export'; model: string; format: 'onnx'; file: string; bytes: number };

const USAGE =
  'use `mldb models`, `mldb models push DIR [--name N]`, `mldb models pull REF DIR`, `mldb models rm REF` ' +
  'or `mldb models export REF --format onnx [--out FILE]`';

/**
 * `mldb models`: the architectures one can train, then the trained models kept in the database
 * (one listing, so that "which models are there" has one answer). `push`, `pull` and `rm` move
 * models between folders and the database.
 */
export async function run(
  ctx: CommandContext,
  action: string | undefined,
  args: string[],
  flags: ModelsFlags,
): Promise<ModelsResult> {
  const mldb = ctx.mldb();
  const want = (n: number, usage: string) => {
    if (args.length !== n) throw new UsageError(`\`mldb models ${action}\` takes ${usage}`, USAGE);
  };
  if (action === undefined || action === 'list') {
    if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`, USAGE);
    return list(ctx, flags);
  }
  if (action === 'push') {
    want(1, 'a model folder');
    return { action: 'push', model: await mldb.pushModel(args[0], flags.name), from: args[0] };
  }
  if (action === 'pull') {
    want(2, 'a stored model (id, name, name@version or run:ID) and a folder');
    const r = await mldb.pullModel(args[0], args[1]);
    return { action: 'pull', ...r };
  }
  if (action === 'rm') {
    want(1, 'a stored model (id, name, name@version or run:ID)');
    if (!flags.yes) throw new UsageError('deleting a stored model cannot be undone', 'add --yes to confirm');
    return { action: 'rm', model: await mldb.deleteStoredModel(args[0]) };
  }
  if (action === 'export') {
    want(1, 'a model (a folder, run:ID, or a stored id, name or name@version)');
    if (flags.format !== 'onnx')
      throw new UsageError(
        flags.format === undefined ? '--format is required' : `unknown --format "${flags.format}"`,
        'use --format onnx',
      );
    const out = flags.out ?? `${path.basename(args[0]).replace(/[@:]/g, '-')}.onnx`;
    return { action: 'export', format: 'onnx', ...(await mldb.exportModel(args[0], out)) };
  }
  throw new UsageError(`unknown action "${action}"`, USAGE);
}

async function list(ctx: CommandContext, flags: ModelsFlags): Promise<ModelsResult> {
  const shape = parseShape(flags.size ?? '20', flags.channels ?? '1')!;
  const numClasses = Number(flags.classes ?? 10);
  const { ARCHITECTURES, fitsArchitecture } = await import('../ml/architectures/registry.js');
  const { tf } = await import('../ml/tf.js');
  const inputShape: [number, number, number] = [shape.height!, shape.width!, shape.channels!];
  const models = [...ARCHITECTURES.values()].map((a): ModelInfo => {
    const described = { name: a.name, origin: a.origin, minSize: a.minSize };
    if (!fitsArchitecture(a, { height: inputShape[0], width: inputShape[1] }))
      return { ...described, parameters: null };
    const m = a.build(tf, { inputShape, numClasses });
    const info = { ...described, parameters: m.countParams() };
    m.dispose();
    return info;
  });
  // The architectures need no database; an unreachable one only leaves the stored list out.
  try {
    return { action: 'list', inputShape, models, stored: await ctx.mldb().storedModels() };
  } catch (e) {
    if (!isMldbError(e)) throw e;
    return { action: 'list', inputShape, models, stored: null, storedError: e.message };
  }
}

function storedRow(m: StoredModel): string[] {
  return [
    String(m.id),
    `${m.name}@${m.version}`,
    m.architecture,
    m.dataset ?? '-',
    m.inputShape.join('x'),
    m.testAccuracy === null ? '-' : fixed4(m.testAccuracy),
    m.runId === null ? '-' : `run:${m.runId}`,
    formatBytes(m.weightsBytes),
    m.createdAt.slice(0, 19).replace('T', ' '),
  ];
}

export function print(r: ModelsResult, out: Output): void {
  if (r.action === 'push') {
    out.line(`stored ${shortPath(r.from)} as ${r.model.name}@${r.model.version} (id ${r.model.id})`);
    return;
  }
  if (r.action === 'pull') {
    out.line(`wrote ${r.model.name}@${r.model.version} (id ${r.model.id}) to ${shortPath(r.dir)}`);
    return;
  }
  if (r.action === 'rm') {
    out.line(`deleted ${r.model.name}@${r.model.version} (id ${r.model.id})`);
    return;
  }
  if (r.action === 'export') {
    out.line(`wrote ${shortPath(r.file)} (ONNX opset 13, ${formatBytes(r.bytes)}) from ${shortPath(r.model)}`);
    return;
  }
  out.line(`architectures at ${r.inputShape.join('x')}:`);
  out.line(
    renderTable(
      ['model', 'parameters', 'origin'],
      r.models.map((m) => [
        m.name,
        m.parameters === null ? `needs ${m.minSize}x${m.minSize} or more` : formatCount(m.parameters),
        m.origin,
      ]),
      ['left', 'right', 'left'],
    ),
  );
  out.line();
  if (r.stored === null) {
    out.note(`mldb: stored models not listed: ${r.storedError}`);
  } else if (r.stored.length === 0) {
    out.line('stored models: none yet (`mldb train` stores each model it saves; `mldb models push DIR` adds one)');
  } else {
    out.line('stored models (use with --model NAME, NAME@VERSION, ID or run:ID):');
    out.line(
      renderTable(
        ['id', 'name', 'architecture', 'table', 'shape', 'test acc', 'run', 'weights', 'created'],
        r.stored.map(storedRow),
        ['right', 'left', 'left', 'left', 'left', 'right', 'left', 'right', 'left'],
      ),
    );
  }
}
