import path from 'node:path';
import type { ImportSummary } from '../ingest/import-folder';
import { EXIT } from '../errors';
import type { Output } from '../ui/output';
import { createProgress } from '../ui/progress';
import { formatCount, formatDuration, quote } from '../ui/terminal';
import type { CommandContext } from './context';
import { parseFraction, parseShape } from './options';
import { shapeText } from './tables';

export interface ImportFlags {
  table?: string;
  create?: boolean;
  size?: string;
  channels?: string;
  testFraction?: string;
  validationFraction?: string;
}

export async function run(ctx: CommandContext, dir: string, flags: ImportFlags): Promise<ImportSummary> {
  const shape = parseShape(flags.size, flags.channels);
  const testFraction = parseFraction('--test-fraction', flags.testFraction);
  const validationFraction = parseFraction('--validation-fraction', flags.validationFraction);
  const table = flags.table ?? ctx.config().table;
  const progress = await createProgress(`importing ${dir} into ${table}…`, { quiet: ctx.out.json });
  try {
    const summary = await ctx.mldb().insertFolder(dir, {
      table,
      create: flags.create,
      shape,
      testFraction,
      validationFraction,
      onShape: (s, note) => {
        progress.log(`table ${table} takes its shape from the first image: ${shapeText(s)}`);
        if (note.grayStoredAsRgb) progress.log(grayRgbNote(table, dir));
      },
      onProgress: (p) => {
        const rate = p.done / Math.max(p.elapsedSeconds, 1e-3);
        const eta = (p.total - p.done) / Math.max(rate, 1e-9);
        progress.update(
          `importing ${formatCount(p.done)}/${formatCount(p.total)} · ${formatCount(rate)} images/s · ETA ` +
            `${formatDuration(eta)} · ` +
            `${formatCount(p.imported)} new, ${formatCount(p.alreadyPresent)} present, ` +
            `${formatCount(p.rejected)} rejected`,
        );
      },
    });
    progress.succeed(
      `imported ${dir} into ${table} in ${formatDuration(summary.seconds)} ` +
        `(${formatCount(summary.imagesPerSecond)} images/s)`,
    );
    return summary;
  } catch (e) {
    progress.fail();
    throw e;
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

export function print(s: ImportSummary, out: Output): void {
  out.line(
    `${s.table}: ${formatCount(s.imported)} imported, ${formatCount(s.alreadyPresent)} already present, ` +
      `${formatCount(s.duplicates)} duplicate files, ${formatCount(s.rejected.length)} rejected ` +
      `(${formatCount(s.files)} files, shape ${shapeText(s.shape)})`,
  );
  if (s.imported === 0 && s.alreadyPresent > 0 && s.rejected.length === 0)
    out.line('nothing new: every image was already in the table');
  for (const c of s.conflicts.slice(0, SHOWN_REJECTIONS)) {
    out.line(
      `  label conflict ${path.relative(process.cwd(), c.path) || c.path} (${c.label}): same image as ` +
        `${c.existingSource} (${c.existingLabel}), kept as ${c.existingLabel}`,
    );
  }
  if (s.conflicts.length > SHOWN_REJECTIONS)
    out.line(`  … and ${s.conflicts.length - SHOWN_REJECTIONS} more label conflicts (--json lists them all)`);
  for (const r of s.rejected.slice(0, SHOWN_REJECTIONS))
    out.line(`  rejected ${path.relative(process.cwd(), r.path) || r.path}: ${r.reason}`);
  if (s.rejected.length > SHOWN_REJECTIONS)
    out.line(`  … and ${s.rejected.length - SHOWN_REJECTIONS} more (--json lists them all)`);
}

/** Exit 6 when any file was rejected: the good files are stored, but a script should know. */
export function exitCode(s: ImportSummary): number {
  return s.rejected.length > 0 ? EXIT.REJECTED_FILES : EXIT.OK;
}
