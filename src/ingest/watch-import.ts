import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/db';
import type { Dataset } from '../db/registry';
import { isTransientDbError } from '../db/transient';
import { FileArrivals, type Arrival } from './file-arrivals';
import { defaultImportThreads } from '../config';
import { openPreparer } from './prepare-pool';
import {
  importFromSource,
  openDataset,
  type ImportOptions,
  type ImportSummary,
  type LabelConflict,
  type LabelRespelling,
} from './import-pipeline';
import type { Layout } from './layout';
import type { Rejection } from './walk-labeled-folder';

export interface WatchImportOptions extends ImportOptions {
  layout: Layout;
  /** How long a file must sit unchanged when its bytes do not show it is complete. */
  settleMs: number;
  /** A batch is committed at this many files… */
  batchFiles: number;
  /** …or when its first file has waited this long, whichever comes first. */
  batchWaitMs: number;
  /** Files read and waiting at most (backpressure: the rest wait unread on disk). */
  maxQueueFiles: number;
  maxQueueBytes: number;
  /** Move stored files here (same relative path), instead of leaving them in place. */
  moveDone?: string;
  /** Move refused files here. */
  moveFailed?: string;
  /** Ends the watch: the batch in hand is finished first. */
  signal: AbortSignal;
  /** The files already there have been listed: the watch is live. */
  onLive?: () => void;
  onBatch?: (b: WatchBatch) => void;
  /** The database went away: ingestion pauses and retries; nothing is lost. */
  onPause?: (error: unknown, queued: number) => void;
  onResume?: (pausedSeconds: number) => void;
  onRejected?: (r: Rejection) => void;
  /** A file is an image stored under another label (a relabelled folder): said as it happens. */
  onConflict?: (c: LabelConflict) => void;
  /** A file could not be moved to --move-done / --move-failed (it stays where it is). */
  onMoveFailed?: (file: string, error: Error) => void;
}

/** One committed batch: what a --json consumer gets per line. */
export interface WatchBatch {
  /** When the batch's INSERTs had committed. */
  committedAt: string;
  files: number;
  imported: number;
  alreadyPresent: number;
  duplicates: number;
  rejected: number;
  /** Files seen and not yet stored. */
  queued: number;
  /** The rows' sources (relative paths) in this batch, stored or already present. */
  sources: string[];
  /** Oldest file in the batch: ms from first sight to commit. */
  maxWaitMs: number;
}

export interface WatchSummary {
  /** The last line of a --json watch (the others are `batch` lines). */
  type: 'summary';
  watch: true;
  table: string;
  folder: string;
  files: number;
  imported: number;
  alreadyPresent: number;
  duplicates: number;
  /** Images already stored (or seen in this watch) under another label: reported, kept as they were. */
  conflicts: LabelConflict[];
  /** Labels stored under another spelling than the folder's (canonicalLabel), each once. */
  labelsRespelled: LabelRespelling[];
  rejected: Rejection[];
  batches: number;
  /** Seconds ingestion was paused for the database. */
  pausedSeconds: number;
  /** Files seen but not stored at the stop (still on disk: the next run takes them). */
  leftQueued: number;
  seconds: number;
}

const MAX_BACKOFF_MS = 5000;

/**
 * `mldb import DIR --watch`: files arriving under DIR land in the table in batches, each batch
 * the same atomic multi-row INSERTs as a folder import. Exactly once: a file is taken at least
 * once (a restart lists the folder again) and the sha256 key stores its image once. While the
 * database is away a batch is retried with backoff and nothing else is taken; on a stop signal
 * the batch in hand is finished (or, if the database is still away, left on disk) and the
 * summary returned.
 */
export async function watchImport(db: Db, dir: string, opts: WatchImportOptions): Promise<WatchSummary> {
  const started = Date.now();
  let dataset = await openDataset(db, opts);
  const summary: WatchSummary = {
    type: 'summary',
    watch: true,
    table: opts.table,
    folder: dir,
    files: 0,
    imported: 0,
    alreadyPresent: 0,
    duplicates: 0,
    conflicts: [],
    labelsRespelled: [],
    rejected: [],
    batches: 0,
    pausedSeconds: 0,
    leftQueued: 0,
    seconds: 0,
  };
  const reject = (r: Rejection) => {
    summary.rejected.push(r);
    opts.onRejected?.(r);
  };
  const arrivals = new FileArrivals(dir, {
    layout: opts.layout,
    settleMs: opts.settleMs,
    maxQueueFiles: opts.maxQueueFiles,
    maxQueueBytes: opts.maxQueueBytes,
    // The pipeline refuses what one row cannot hold; past the queue's whole budget not even that is read.
    maxFileBytes: opts.maxQueueBytes,
    ignoreDirs: [opts.moveDone, opts.moveFailed].filter((d): d is string => d !== undefined),
    onRejected: (r) => {
      reject(r);
      if (opts.moveFailed) move(r.path, path.resolve(dir), opts.moveFailed, opts.onMoveFailed);
    },
  });
  await arrivals.start();
  opts.onLive?.();
  const preparer = openPreparer(opts.threads ?? defaultImportThreads());
  try {
    for (;;) {
      const batch = await arrivals.take(opts.batchFiles, opts.batchWaitMs, opts.signal);
      if (batch.length === 0) break;
      const result = await storeBatch(db, dataset, batch, { ...opts, preparer }, summary);
      if (!result) {
        summary.leftQueued += batch.length;
        break;
      }
      if (result.shape && !dataset.shape) dataset = { ...dataset, shape: result.shape };
      const refused = new Map(result.rejected.map((r) => [r.path, r]));
      for (const a of batch) {
        const r = refused.get(a.path);
        if (r) reject(r);
        const target = r ? opts.moveFailed : opts.moveDone;
        if (target) move(a.path, path.resolve(dir), target, opts.onMoveFailed);
        arrivals.handled(a);
      }
      summary.files += batch.length;
      summary.imported += result.imported;
      summary.alreadyPresent += result.alreadyPresent;
      summary.duplicates += result.duplicates;
      summary.conflicts.push(...result.conflicts);
      for (const r of result.labelsRespelled)
        if (!summary.labelsRespelled.some((k) => k.from === r.from)) summary.labelsRespelled.push(r);
      for (const c of result.conflicts) opts.onConflict?.(c);
      summary.batches++;
      const now = Date.now();
      opts.onBatch?.({
        committedAt: new Date(now).toISOString(),
        files: batch.length,
        imported: result.imported,
        alreadyPresent: result.alreadyPresent,
        duplicates: result.duplicates,
        rejected: result.rejected.length,
        queued: arrivals.queued,
        sources: batch.filter((a) => !refused.has(a.path)).map((a) => a.relative),
        maxWaitMs: now - Math.min(...batch.map((a) => a.seenAt)),
      });
    }
  } finally {
    summary.leftQueued += arrivals.queued;
    await arrivals.close();
    await preparer.close();
  }
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

/**
 * One batch into the table, retried while the database is away. Undefined when a stop came while
 * it was still away: the files stay on disk, untouched, for the next run.
 */
async function storeBatch(
  db: Db,
  dataset: Dataset,
  batch: Arrival[],
  opts: WatchImportOptions,
  summary: WatchSummary,
): Promise<ImportSummary | undefined> {
  let backoff = 250;
  let pausedAt: number | undefined;
  for (;;) {
    try {
      const result = await importFromSource(
        db,
        dataset,
        { items: batch, rejected: [], total: batch.length },
        { table: opts.table, split: opts.split, onShape: opts.onShape, preparer: opts.preparer },
      );
      if (pausedAt !== undefined) {
        const paused = (Date.now() - pausedAt) / 1000;
        summary.pausedSeconds += paused;
        opts.onResume?.(paused);
      }
      return result;
    } catch (e) {
      if (!isTransientDbError(e)) throw e;
      if (pausedAt === undefined) {
        pausedAt = Date.now();
        opts.onPause?.(e, batch.length);
      }
      if (opts.signal.aborted) {
        summary.pausedSeconds += (Date.now() - pausedAt) / 1000;
        return undefined;
      }
      await delay(backoff, opts.signal);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * Moves a file under `targetRoot` at its path relative to `root`, never over another file (a
 * name already taken gets a numbered suffix). Rename when possible, else copy then unlink.
 */
function move(file: string, root: string, targetRoot: string, onFailed?: (file: string, e: Error) => void): void {
  try {
    const relative = path.relative(root, file);
    let target = path.join(path.resolve(targetRoot), relative);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const { dir, name, ext } = path.parse(target);
    for (let n = 1; fs.existsSync(target); n++) target = path.join(dir, `${name}.${n}${ext}`);
    try {
      fs.renameSync(file, target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      fs.copyFileSync(file, target, fs.constants.COPYFILE_EXCL);
      fs.unlinkSync(file);
    }
  } catch (e) {
    onFailed?.(file, e as Error);
  }
}
