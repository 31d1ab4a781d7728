import { EXIT, InvalidDataError, UsageError } from '../errors';
import type { Prediction, PredictionFailure } from '../ml/predict';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import type { CommandContext } from './context';
import { parsePositiveInt } from './options';
import type { PredictWatchSummary } from './predict-watch';

export interface PredictFlags {
  model?: string;
  top?: string;
  backend?: string;
  engine?: string;
  watch?: string;
  settle?: string;
  log?: boolean;
}

export interface PredictResult {
  model: string;
  /** What ran the model ("onnxruntime 1.23.0 (cpu, 2 threads)", "tfjs (wasm)"). */
  engine: string;
  /** Why onnxruntime did not (auto fell back to tfjs). */
  engineFallback?: string;
  predictions: Prediction[];
  failures: PredictionFailure[];
}

export type PredictOutcome = PredictResult | PredictWatchSummary;

export async function run(ctx: CommandContext, images: string[], flags: PredictFlags): Promise<PredictOutcome> {
  if (!flags.model) throw new UsageError('--model is required', 'pass the folder `mldb train` saved');
  const top = parsePositiveInt('--top', flags.top, { min: 1, max: 1000 }) ?? 3;
  if (flags.watch !== undefined) {
    if (images.length > 0)
      throw new UsageError('pass either image files or --watch DIR, not both', 'drop the files or --watch');
    const { selectBackend } = await import('../ml/backend.js');
    await selectBackend((flags.backend ?? 'auto') as never);
    return (await import('./predict-watch.js')).run(ctx, flags.model, flags.watch, top, flags);
  }
  if (flags.settle !== undefined || flags.log === false)
    throw new UsageError('--settle and --no-log go with --watch', 'add --watch DIR');
  if (images.length === 0) throw new UsageError('no images given', 'mldb predict --model DIR image.png [more.png …]');
  const { predictions, failures, engine, engineFallback } = await ctx.mldb().predict(flags.model, images, {
    top,
    backend: (flags.backend ?? 'auto') as never,
    engine: (flags.engine ?? 'auto') as never,
  });
  if (predictions.length === 0 && failures.length > 0) {
    const f = failures[0];
    throw new InvalidDataError(
      failures.length === 1
        ? `cannot read ${f.file}: ${f.error}`
        : `none of the ${failures.length} images could be read (first: ${f.file}: ${f.error})`,
      'pass PNG, JPEG, GIF, WebP or TIFF files',
    );
  }
  for (const f of failures) ctx.out.note(`mldb: cannot read ${f.file}: ${f.error}`);
  return { model: flags.model, engine, ...(engineFallback && { engineFallback }), predictions, failures };
}

export function print(r: PredictOutcome, out: Output): void {
  if ('watch' in r) {
    out.note(
      `mldb predict: ${r.files} images in ${r.seconds.toFixed(1)} s: ${r.predicted} predicted, ${r.failed} unreadable` +
        (r.logged === null ? ', not logged' : `, ${r.logged} logged`) +
        (r.unlogged > 0 ? `, ${r.unlogged} NOT logged (the database stayed away)` : ''),
    );
    return;
  }
  if (r.predictions.length === 0) return;
  out.line(
    renderTable(
      ['image', 'label', 'confidence', 'top'],
      r.predictions.map((p) => [
        p.file,
        p.label,
        p.confidence.toFixed(4),
        p.top.map((t) => `${t.label} ${t.probability.toFixed(3)}`).join(', '),
      ]),
      ['left', 'left', 'right', 'left'],
    ),
  );
  out.line(`engine: ${r.engine}${r.engineFallback ? ` (${r.engineFallback})` : ''}`);
}

/**
 * Some images could not be read: the readable ones were still predicted; exit 6 says so. A watch
 * ends with 0, or 3 when log rows could not be written (as `mldb serve` does).
 */
export function exitCode(r: PredictOutcome): number {
  if ('watch' in r) return r.unlogged > 0 ? EXIT.DATABASE : EXIT.OK;
  return r.failures.length > 0 ? EXIT.REJECTED_FILES : EXIT.OK;
}
