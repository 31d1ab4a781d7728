import type { ImportSummary, LabelConflict } from '../ingest/import-pipeline';
import type { WatchSummary } from '../ingest/watch-import';
import { EXIT, InterruptedError, UsageError } from '../errors';
import type { Output } from '../ui/output';
import { watchInterrupts } from '../ui/interrupt';
import { createProgress } from '../ui/progress';
import { formatCount, formatDuration, printable, quote } from '../ui/terminal';
import type { CommandContext } from './context';
import { commonOptions, type CommonImportOptions, type ImportFlags } from './shared/import-flags';
import { importSourceFor } from './shared/import-sources';
import { conflictLine, respellingLine, shown } from './shared/conflicts';
import { shapeText } from './shared/shapes';

export type ImportResult = ImportSummary | WatchSummary;

/** `mldb import SOURCE`: a folder, an archive, `-` (a tar stream on stdin), a manifest's folder, or a watch. */
export async function run(ctx: CommandContext, target: string, flags: ImportFlags): Promise<ImportResult> {
  if (flags.watch) return (await import('./import-watch.js')).run(ctx, target, flags, commonOptions(ctx, flags));
  if (flags.moveDone || flags.moveFailed || flags.settle || flags.batchFiles || flags.batchWait)
    throw new UsageError('--settle, --batch-*, --move-done and --move-failed go with --watch', 'add --watch');
  return importOnce(ctx, target, flags);
}

/** One pass over a folder, archive, stream or manifest. */
export async function importOnce(ctx: CommandContext, target: string, flags: ImportFlags): Promise<ImportSummary> {
  const common = commonOptions(ctx, flags);
  const label = target === '-' ? 'standard input' : target;
  const progress = await createProgress(`importing ${label} into ${common.table}…`, { document: ctx.out.json });
  const options: CommonImportOptions = {
    ...common,
    onShape: (s, note) => {
      progress.log(`table ${common.table} takes its shape from the first image: ${shapeText(s)}`);
      if (note.grayStoredAsRgb) progress.log(grayRgbNote(common.table, target));
    },
    onProgress: (p) => {
      const rate = p.done / Math.max(p.elapsedSeconds, 1e-3);
      const of = p.total === undefined ? '' : `/${formatCount(p.total)}`;
      const eta = p.total === undefined ? '' : ` · ETA ${formatDuration((p.total - p.done) / Math.max(rate, 1e-9))}`;
      progress.update(
        `importing ${formatCount(p.done)}${of} · ${formatCount(rate)} images/s${eta} · ` +
          `${formatCount(p.imported)} new, ${formatCount(p.alreadyPresent)} present, ` +
          `${formatCount(p.rejected)} rejected`,
      );
    },
  };
  // A signal stops after the batches in hand are written: every stored image is whole, and the
  // same command run again stores the rest (what is stored is skipped by its hash).
  const stop = watchInterrupts(() => progress.log('stopping after this batch (Ctrl-C again to abort at once)'));
  try {
    const source = importSourceFor(target, flags);
    const summary = await source.import(ctx, target, flags, { ...options, shouldStop: () => stop.requested });
    if (summary.stopped) {
      progress.clear();
      throw new InterruptedError(
        `import interrupted by ${stop.signal ?? 'a signal'}: ${formatCount(summary.imported)} image(s) stored, ` +
          'each one whole',
        'run the same import again to store the rest (what is stored is skipped)',
      );
    }
    progress.succeed(
      `imported ${label} into ${common.table} in ${formatDuration(summary.seconds)} ` +
        `(${formatCount(summary.imagesPerSecond)} images/s)`,
    );
    return summary;
  } catch (e) {
    if (!(e instanceof InterruptedError)) progress.fail();
    throw e;
  } finally {
    stop.dispose();
  }
}

/** The first image is RGB but gray in fact: say what a third of the bytes would take. */
export function grayRgbNote(table: string, dir: string): string {
  return (
    `note: the first image is stored as RGB but its pixels are gray (R = G = B); --channels 1 stores a third ` +
    `of the bytes and trains ~3× faster: mldb drop-table ${table} --yes && ` +
    `mldb import ${quote(dir)} --table ${table} --create --channels 1`
  );
}

const SHOWN_REJECTIONS = 20;

export function print(s: ImportResult, out: Output): void {
  if ('watch' in s) {
    printWatch(s, out);
    return;
  }
  out.line(
    `${s.table}: ${formatCount(s.imported)} imported, ${formatCount(s.alreadyPresent)} already present, ` +
      `${formatCount(s.duplicates)} duplicate files, ${formatCount(s.rejected.length)} rejected ` +
      `(${formatCount(s.files)} files, shape ${shapeText(s.shape)}` +
      `${s.layout === 'splits' ? ', splits from the train/validation/test folders' : ''})`,
  );
  if (s.imported === 0 && s.alreadyPresent > 0 && s.rejected.length === 0)
    out.line('nothing new: every image was already in the table');
  for (const r of s.labelsRespelled) out.line(respellingLine(r));
  printConflicts(s.conflicts, out);
  printRejections(s.rejected, out);
  if (s.findingsNotKept) out.note(`mldb: the conflicts and duplicates were not kept for mldb ui: ${s.findingsNotKept}`);
}

function printWatch(s: WatchSummary, out: Output): void {
  out.line(
    `${s.table}: watched ${s.folder} for ${formatDuration(s.seconds)}: ${formatCount(s.files)} files in ` +
      `${formatCount(s.batches)} batches, ${formatCount(s.imported)} imported, ` +
      `${formatCount(s.alreadyPresent)} already present, ${formatCount(s.duplicates)} duplicate files, ` +
      `${formatCount(s.rejected.length)} rejected`,
  );
  if (s.pausedSeconds > 0)
    out.line(`  paused ${formatDuration(s.pausedSeconds)} while the database was away (nothing lost)`);
  if (s.leftQueued > 0)
    out.line(
      `  ${formatCount(s.leftQueued)} files were not imported yet: they are still there, the next run takes them`,
    );
  for (const r of s.labelsRespelled) out.line(respellingLine(r));
  printConflicts(s.conflicts, out);
  printRejections(s.rejected, out);
}

function printConflicts(conflicts: LabelConflict[], out: Output): void {
  for (const c of conflicts.slice(0, SHOWN_REJECTIONS)) out.line(conflictLine(c));
  if (conflicts.length > SHOWN_REJECTIONS)
    out.line(`  … and ${conflicts.length - SHOWN_REJECTIONS} more label conflicts (--json lists them all)`);
}

function printRejections(rejected: { path: string; reason: string }[], out: Output): void {
  for (const r of rejected.slice(0, SHOWN_REJECTIONS)) out.line(printable(`  rejected ${shown(r.path)}: ${r.reason}`));
  if (rejected.length > SHOWN_REJECTIONS)
    out.line(`  … and ${rejected.length - SHOWN_REJECTIONS} more (--json lists them all)`);
}

/**
 * Exit 6 when any file was rejected: the good files are stored, but a script should know. A watch
 * that was stopped exits 0 (its rejections are in the summary and were logged as they happened).
 */
export function exitCode(s: ImportResult): number {
  if ('watch' in s) return EXIT.OK;
  return s.rejected.length > 0 ? EXIT.REJECTED_FILES : EXIT.OK;
}
