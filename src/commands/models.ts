import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import { formatCount } from '../ui/terminal';
import type { CommandContext } from './context';
import { parseShape } from './options';

export interface ModelInfo {
  name: string;
  origin: string;
  parameters: number;
}

export async function run(
  _ctx: CommandContext,
  flags: { size?: string; channels?: string; classes?: string },
): Promise<{ inputShape: number[]; models: ModelInfo[] }> {
  const shape = parseShape(flags.size ?? '20', flags.channels ?? '1')!;
  const numClasses = Number(flags.classes ?? 10);
  const { ARCHITECTURES } = await import('../ml/architectures/registry.js');
  const { tf } = await import('../ml/tf.js');
  const inputShape: [number, number, number] = [shape.height!, shape.width!, shape.channels!];
  const models = [...ARCHITECTURES.values()].map((a) => {
    const m = a.build(tf, { inputShape, numClasses });
    const info = { name: a.name, origin: a.origin, parameters: m.countParams() };
    m.dispose();
    return info;
  });
  return { inputShape, models };
}

export function print(r: { inputShape: number[]; models: ModelInfo[] }, out: Output): void {
  out.line(`architectures at ${r.inputShape.join('x')}:`);
  out.line(
    renderTable(
      ['model', 'parameters', 'origin'],
      r.models.map((m) => [m.name, formatCount(m.parameters), m.origin]),
      ['left', 'right', 'left'],
    ),
  );
}
