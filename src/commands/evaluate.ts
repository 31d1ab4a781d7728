import { resolveMemoryBudget } from '../samples/memory-budget';
import { resolveReadParallelism } from '../samples/bulk-read';
import { validateSplit } from '../db/row-selection';
import { UsageError } from '../errors';
import type { EvaluationReport } from '../ml/evaluate';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import { fixed4, formatCount, printable } from '../ui/terminal';
import type { CommandContext } from './context';
import { rowSubsetOf } from '../ml/row-subset';
import { validateTrainingOptions } from '../ml/training-options';
import { labelList } from './shared/recipe-flags';

export interface EvaluateFlags {
  model?: string;
  split?: string;
  backend?: string;
  engine?: string;
  memoryBudget?: string;
  readParallelism?: string;
  labels?: string;
  excludeLabels?: string;
  sources?: string;
}

/**
 * --table given (flag or MLDB_TABLE) wins; otherwise the table the model was trained on.
 * The CLI passes `explicitTable` only when the user chose one.
 */
export async function run(
  ctx: CommandContext,
  flags: EvaluateFlags,
  explicitTable: string | undefined,
): Promise<EvaluationReport> {
  if (!flags.model)
    throw new UsageError(
      '--model is required',
      'pass the folder `mldb train` saved, e.g. --model models/images-simple_cnn-…',
    );
  return ctx.mldb().evaluate(flags.model, {
    table: explicitTable,
    split: validateSplit(flags.split ?? 'test')!,
    backend: (flags.backend ?? 'auto') as never,
    engine: (flags.engine ?? 'auto') as never,
    memoryBudget: resolveMemoryBudget(flags.memoryBudget, ctx.settings().memoryBudget),
    readParallelism: resolveReadParallelism(flags.readParallelism, ctx.settings().readParallelism),
    subset: rowSubsetOf(
      validateTrainingOptions({
        labels: flags.labels === undefined ? undefined : labelList(flags.labels),
        excludeLabels: flags.excludeLabels === undefined ? undefined : labelList(flags.excludeLabels),
        sources: flags.sources,
      }),
    ),
  });
}

export function print(r: EvaluationReport & { engineFallback?: string }, out: Output): void {
  out.line(printable(r.model));
  out.line(`engine: ${r.engine}${r.engineFallback ? ` (${r.engineFallback})` : ''}`);
  out.line(
    `on ${r.table} (${r.split} split): ${formatCount(r.count)} rows · loss ${r.loss.toFixed(4)} · accuracy ` +
      `${fixed4(r.accuracy)} · macro F1 ${fixed4(r.macro.f1)}`,
  );
  if (r.skipped > 0) out.line(`left out ${formatCount(r.skipped)} row(s) whose label the model was not trained on`);
  out.line();
  out.line(
    renderTable(
      ['label', 'precision', 'recall', 'F1', 'support'],
      [
        ...r.classes.map((c) => [c.label, fixed4(c.precision), fixed4(c.recall), fixed4(c.f1), c.support]),
        ['(macro)', fixed4(r.macro.precision), fixed4(r.macro.recall), fixed4(r.macro.f1), r.count],
      ],
      ['left', 'right', 'right', 'right', 'right'],
    ),
  );
  out.line();
  out.line('confusion matrix (rows: true label, columns: predicted)');
  out.line(
    renderTable(
      ['', ...r.labels],
      r.confusion.map((row, i) => [r.labels[i], ...row.map((n) => (n === 0 ? '.' : n))]),
      ['left', ...r.labels.map(() => 'right' as const)],
    ),
  );
}
