import type { DatasetDetails } from '../db/registry';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import { formatBytes, formatCount } from '../ui/terminal';
import type { CommandContext } from './context';
import { resizeText, shapeText } from './shared/shapes';

export async function run(ctx: CommandContext, name: string | undefined): Promise<DatasetDetails> {
  return ctx.mldb().describe(name ?? ctx.config().table);
}

export function print(d: DatasetDetails, out: Output): void {
  out.line(
    `table ${d.dataset.name}${d.version !== undefined ? `@${d.version}` : ''}: ` +
      `${formatCount(d.rows)} images, ${d.labels.length} labels, shape ` +
      `${shapeText(d.dataset.shape)}, resize ${resizeText(d.dataset.resize)}`,
  );
  out.line(
    `originals ${formatBytes(d.originalBytes)}, pixels ${formatBytes(d.pixelBytes)}; formats ${
      Object.entries(d.formats)
        .map(([f, n]) => `${f} ${n}`)
        .join(', ') || '-'
    }`,
  );
  if (d.shards) {
    out.line(
      `sharded over ${d.shards.length} servers: ` +
        d.shards.map((s) => `${s.server} (${s.address}) ${formatCount(s.rows)} rows`).join(' · '),
    );
  }
  if (d.labels.length === 0) return;
  const totals = d.labels.reduce(
    (t, l) => ({
      train: t.train + l.train,
      validation: t.validation + l.validation,
      test: t.test + l.test,
      total: t.total + l.total,
    }),
    { train: 0, validation: 0, test: 0, total: 0 },
  );
  out.line(
    renderTable(
      ['label', 'train', 'validation', 'test', 'total'],
      [
        ...d.labels.map((l) => [l.label, l.train, l.validation, l.test, l.total]),
        ['(all)', totals.train, totals.validation, totals.test, totals.total],
      ],
      ['left', 'right', 'right', 'right', 'right'],
    ),
  );
}
