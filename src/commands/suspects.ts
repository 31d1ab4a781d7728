import { resolveMemoryBudget } from '../samples/memory-budget';
import { resolveReadParallelism } from '../samples/bulk-read';
import { UsageError } from '../errors';
import type { SuspectsReport } from '../ml/suspects';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import { fixed4, formatCount, printable } from '../ui/terminal';
import type { CommandContext } from './context';
import { parsePositiveInt } from './options';

export interface SuspectsFlags {
  model?: string;
  limit?: string;
  backend?: string;
  engine?: string;
  memoryBudget?: string;
  readParallelism?: string;
}

export async function run(ctx: CommandContext, table: string, flags: SuspectsFlags): Promise<SuspectsReport> {
  if (!flags.model)
    throw new UsageError('--model is required', 'pass a model folder, run:ID or a stored model, e.g. --model run:3');
  return ctx.mldb().suspects(flags.model, {
    table,
    limit: parsePositiveInt('--limit', flags.limit ?? '20', { min: 1, max: 1_000_000 })!,
    backend: (flags.backend ?? 'auto') as never,
    engine: (flags.engine ?? 'auto') as never,
    memoryBudget: resolveMemoryBudget(flags.memoryBudget, ctx.settings().memoryBudget),
    readParallelism: resolveReadParallelism(flags.readParallelism, ctx.settings().readParallelism),
  });
}

/** A word as a shell reads it back: as is when plain, else single-quoted. */
const shellWord = (w: string) => (/^[\w.@%+:,/-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

const trainedWord = (t: boolean | null) => (t === null ? '?' : t ? 'yes' : 'no');

export function print(r: SuspectsReport & { engineFallback?: string }, out: Output): void {
  out.line(printable(r.model));
  out.line(`engine: ${r.engine}${r.engineFallback ? ` (${r.engineFallback})` : ''}`);
  out.line(
    `on ${r.table} (every split): ${formatCount(r.count)} rows scored · ${formatCount(r.found)} suspect(s)` +
      (r.suspects.length < r.found ? `, the first ${formatCount(r.suspects.length)} shown` : ''),
  );
  if (r.skipped > 0) out.line(`left out ${formatCount(r.skipped)} row(s) whose label the model was not trained on`);
  if (r.suspects.length === 0) return;
  out.line();
  out.line(
    renderTable(
      ['id', 'label', 'suggested', 'confidence', 'p(label)', 'split', 'trained on', 'source'],
      r.suspects.map((s) => [
        s.id,
        printable(s.label),
        printable(s.suggested),
        fixed4(s.confidence),
        fixed4(s.labelProbability),
        s.split,
        trainedWord(s.trained),
        printable(s.source),
      ]),
      ['right', 'left', 'left', 'right', 'right', 'left', 'left', 'left'],
    ),
  );
  if (r.suspects.some((s) => s.trained))
    out.line('trained on: the model saw these rows in training, so its confidence on them is optimistic');
  const top = r.suspects[0];
  out.line(`next: mldb relabel ${shellWord(r.table)} ${top.id} --to ${printable(shellWord(top.suggested))}`);
}
