import type { PredictionSummary } from '../db/predictions';
import { UsageError } from '../errors';
import type { PromoteSummary } from '../mldb';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import { fixed4, formatCount, printable } from '../ui/terminal';
import type { CommandContext } from './context';
import { conflictLine } from './shared/conflicts';
import { parsePositiveInt } from './options';

export interface PredictionsFlags {
  table?: string;
  model?: string;
  since?: string;
  label?: string;
  corrected?: boolean;
  limit?: string;
  create?: boolean;
}

export type PredictionsResult =
  { action: 'list'; predictions: PredictionSummary[] } | ({ action: 'promote' } & PromoteSummary);

const USAGE = 'use `mldb predictions` to list, or `mldb predictions promote --table T`';

/** `--since 2026-11-21`, `--since 2026-11-21T10:00`, or a duration back from now: `--since 2h`, `30m`, `7d`. */
export function parseSince(text: string | undefined, now = Date.now()): Date | undefined {
  if (text === undefined) return undefined;
  const ago = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(text.trim());
  if (ago) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[ago[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(ago[1]) * unit * 1000);
  }
  const at = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(text.trim())
    ? new Date(text.trim())
    : new Date(NaN);
  if (Number.isNaN(at.getTime()))
    throw new UsageError(
      `invalid --since "${text}"`,
      'use a date (2026-11-21, 2026-11-21T10:00) or a duration (30m, 2h, 7d)',
    );
  return at;
}

export async function run(
  ctx: CommandContext,
  action: string | undefined,
  flags: PredictionsFlags,
): Promise<PredictionsResult> {
  const mldb = ctx.mldb();
  const since = parseSince(flags.since);
  if (action === undefined || action === 'list') {
    const limit = parsePositiveInt('--limit', flags.limit ?? '20', { min: 1, max: 100_000 })!;
    return {
      action: 'list',
      predictions: await mldb.predictions({
        model: flags.model,
        since,
        label: flags.label,
        corrected: flags.corrected,
        limit,
      }),
    };
  }
  if (action === 'promote') {
    if (!flags.table)
      throw new UsageError('`mldb predictions promote` needs --table T', 'name the dataset table to add them to');
    const s = await mldb.promotePredictions({ table: flags.table, model: flags.model, since, create: flags.create });
    return { action: 'promote', ...s };
  }
  throw new UsageError(`unknown action "${action}"`, USAGE);
}

export function print(r: PredictionsResult, out: Output): void {
  if (r.action === 'promote') {
    out.line(
      `${r.table}: ${formatCount(r.imported)} corrected prediction(s) imported, ${formatCount(r.alreadyPresent)} ` +
        `already present, ${formatCount(r.rejected.length)} rejected (of ${formatCount(r.corrected)} to promote)`,
    );
    for (const c of r.conflicts.slice(0, 10)) out.line(conflictLine(c));
    for (const x of r.rejected.slice(0, 10)) out.line(`  rejected ${printable(x.path)}: ${printable(x.reason)}`);
    if (r.withoutInput > 0)
      out.note(
        `mldb: ${formatCount(r.withoutInput)} corrected prediction(s) have no logged input and cannot be promoted: ` +
          'serve with --log-inputs to keep inputs',
      );
    return;
  }
  if (r.predictions.length === 0) {
    out.line('no logged predictions (serve a model with `mldb serve --model REF`)');
    return;
  }
  out.line(
    renderTable(
      ['id', 'time', 'source', 'model', 'file', 'label', 'confidence', 'ms', 'status', 'corrected'],
      r.predictions.map((p) => [
        p.id,
        p.createdAt.slice(0, 23).replace('T', ' '),
        p.source,
        p.model,
        p.fileName ?? '-',
        p.label ?? '-',
        fixed4(p.confidence),
        p.latencyMs.toFixed(1),
        p.status === 'ok' ? 'ok' : `error: ${p.error ?? ''}`.slice(0, 40),
        p.trueLabel ?? '',
      ]),
      ['left', 'left', 'left', 'left', 'left', 'left', 'right', 'right', 'left', 'left'],
    ),
  );
}
