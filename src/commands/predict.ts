import { EXIT, InvalidDataError, UsageError } from '../errors';
import type { Prediction, PredictionFailure } from '../ml/predict';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import type { CommandContext } from './context';
import { parsePositiveInt } from './options';

export interface PredictFlags {
  model?: string;
  top?: string;
  backend?: string;
}

export interface PredictResult {
  model: string;
  predictions: Prediction[];
  failures: PredictionFailure[];
}

export async function run(ctx: CommandContext, images: string[], flags: PredictFlags): Promise<PredictResult> {
  if (!flags.model) throw new UsageError('--model is required', 'pass the folder `mldb train` saved');
  if (images.length === 0) throw new UsageError('no images given', 'mldb predict --model DIR image.png [more.png …]');
  const top = parsePositiveInt('--top', flags.top, { min: 1, max: 1000 }) ?? 3;
  const { predictions, failures } = await ctx
    .mldb()
    .predict(flags.model, images, { top, backend: (flags.backend ?? 'auto') as never });
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
  return { model: flags.model, predictions, failures };
}

export function print(r: PredictResult, out: Output): void {
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
}

/** Some images could not be read: the readable ones were still predicted; exit 6 says so. */
export function exitCode(r: PredictResult): number {
  return r.failures.length > 0 ? EXIT.REJECTED_FILES : EXIT.OK;
}
