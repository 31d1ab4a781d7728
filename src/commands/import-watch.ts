import fs from 'node:fs';
import path from 'node:path';
import { NotFoundError, UsageError } from '../errors';
import type { WatchBatch, WatchSummary } from '../ingest/watch-import';
import { createProgress } from '../ui/progress';
import { watchInterrupts } from '../ui/interrupt';
import { formatCount, printable } from '../ui/terminal';
import type { CommandContext } from './context';
import { COMMAND_DEFAULTS } from './shared/defaults';
import type { CommonImportOptions, ImportFlags } from './shared/import-flags';
import { parseDurationMs, parsePositiveInt } from './options';
import { conflictLine, shown } from './shared/conflicts';
import { shapeText } from './shared/shapes';

/** Files read and waiting at most, and their bytes: the watch's memory bound. */
const MAX_QUEUE_FILES = 10_000;
const MAX_QUEUE_BYTES = 256 * 1024 * 1024;
/** How often the status line is redrawn (the plain-text display prints far less often). */
const STATUS_MS = 1000;

/**
 * `mldb import DIR --watch`: runs until SIGTERM or Ctrl-C, then finishes the batch in hand and
 * prints the summary (exit 0). A status line on a terminal, sparse plain lines otherwise, and
 * with --json one JSON line per committed batch on stdout, then the summary line.
 */
export async function run(
  ctx: CommandContext,
  dir: string,
  flags: ImportFlags,
  common: CommonImportOptions,
): Promise<WatchSummary> {
  if (dir === '-') throw new UsageError('--watch needs a folder, not standard input', 'pass the folder to watch');
  if (flags.manifest) throw new UsageError('--manifest cannot be combined with --watch', 'import the manifest once');
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st) throw new NotFoundError(`no such directory: ${dir}`, 'create it first, or pass the folder files arrive in');
  if (!st.isDirectory()) throw new UsageError(`not a directory: ${dir}`, '--watch needs the folder files arrive in');
  for (const [flag, target] of [
    ['--move-done', flags.moveDone],
    ['--move-failed', flags.moveFailed],
  ] as const) {
    if (target !== undefined && path.resolve(target) === path.resolve(dir))
      throw new UsageError(`${flag} cannot be the watched folder itself`, 'pass another folder');
  }
  const settleMs = parseDurationMs('--settle', flags.settle ?? COMMAND_DEFAULTS.settle, { min: 0, max: 600_000 })!;
  const batchWaitMs = parseDurationMs('--batch-wait', flags.batchWait ?? '100ms', { min: 0, max: 60_000 })!;
  const batchFiles = parsePositiveInt('--batch-files', flags.batchFiles ?? '500', { min: 1, max: 100_000 })!;

  const out = ctx.out;
  const progress = await createProgress(`watching ${dir} for ${common.table}…`, { quiet: out.json });
  const controller = new AbortController();
  // Notes go to stderr in every mode; with --json the progress display is silent.
  const note = (text: string) => (out.json ? out.note(printable(text)) : progress.log(printable(text)));
  const stop = watchInterrupts((signal) => {
    note(`${signal}: finishing the batch in hand, then stopping`);
    controller.abort();
  });
  const started = Date.now();
  let files = 0;
  let lastError = '';
  let queued = 0;
  const recent: { at: number; files: number }[] = [];
  const status = () => {
    const now = Date.now();
    while (recent.length > 0 && recent[0].at < now - 10_000) recent.shift();
    const window = Math.min(10, (now - started) / 1000);
    const rate = recent.reduce((n, r) => n + r.files, 0) / Math.max(window, 1);
    progress.update(
      `watching ${dir} → ${common.table} · ${formatCount(files)} files · ${formatCount(rate)} files/s · ` +
        `queue ${formatCount(queued)}${lastError ? ` · last error: ${lastError}` : ''}`,
    );
  };
  const timer = setInterval(status, STATUS_MS);
  try {
    return await ctx.mldb().watchFolder(dir, {
      ...common,
      settleMs,
      batchFiles,
      batchWaitMs,
      maxQueueFiles: MAX_QUEUE_FILES,
      maxQueueBytes: MAX_QUEUE_BYTES,
      moveDone: flags.moveDone,
      moveFailed: flags.moveFailed,
      signal: controller.signal,
      onLive: () => note(`watching ${dir}: files that arrive are imported into ${common.table} (Ctrl-C stops)`),
      onShape: (s) => note(`table ${common.table} takes its shape from the first image: ${shapeText(s)}`),
      onBatch: (b: WatchBatch) => {
        files += b.files;
        queued = b.queued;
        recent.push({ at: Date.now(), files: b.files });
        if (out.json) process.stdout.write(JSON.stringify({ type: 'batch', table: common.table, ...b }) + '\n');
        status();
      },
      onPause: (e) => {
        lastError = e instanceof Error ? e.message : String(e);
        note(`mldb: ${lastError}: ingestion paused, retrying until the database is back (nothing is lost)`);
      },
      onResume: (seconds) => {
        lastError = '';
        note(`database back after ${seconds.toFixed(1)} s: ingestion resumed`);
      },
      onRejected: (r) => note(`rejected ${shown(r.path)}: ${r.reason}`),
      onConflict: (c) => note(conflictLine(c).trim()),
      onMoveFailed: (file, e) =>
        note(`could not move ${file} (${(e as NodeJS.ErrnoException).code ?? e.message}): left in place`),
    });
  } finally {
    clearInterval(timer);
    stop.dispose();
    progress.clear();
  }
}
