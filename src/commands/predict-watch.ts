import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NotFoundError, UsageError } from '../errors';
import { FileArrivals, type Arrival } from '../ingest/file-arrivals';
import { createMetrics } from '../serve/metrics';
import { PredictionLog } from '../serve/prediction-log';
import { modelIdentity, Predictor, type ImageResult, type LogSink } from '../serve/predictor';
import { watchInterrupts } from '../ui/interrupt';
import { printable, shortPath } from '../ui/terminal';
import type { CommandContext } from './context';
import { COMMAND_DEFAULTS } from './shared/defaults';
import { parseDurationMs } from './options';

export interface PredictWatchFlags {
  settle?: string;
  log?: boolean;
}

export interface PredictWatchSummary {
  type: 'summary';
  watch: true;
  model: string;
  folder: string;
  files: number;
  predicted: number;
  failed: number;
  /** Rows written to mldb_predictions (source `watch`); null when not logging. */
  logged: number | null;
  /** Rows that could not be written before the stop (the database stayed away). */
  unlogged: number;
  seconds: number;
}

const BATCH_FILES = 256;
const BATCH_WAIT_MS = 20;
const DRAIN_TIMEOUT_MS = 10_000;
/** A larger file is refused unread: no image mldb classifies comes near it. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

/**
 * `mldb predict --model M --watch DIR`: classifies images as they arrive under DIR (the same
 * completeness rules as `import --watch`), one line each (or one JSON line with --json), and
 * records each in mldb_predictions with source `watch` unless --no-log or the database cannot be
 * reached at the start. Files already in DIR are classified first. Ends on SIGTERM or Ctrl-C.
 */
export async function run(
  ctx: CommandContext,
  modelRef: string,
  dir: string,
  top: number,
  flags: PredictWatchFlags,
): Promise<PredictWatchSummary> {
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st) throw new NotFoundError(`no such directory: ${dir}`, 'pass the folder images arrive in');
  if (!st.isDirectory()) throw new UsageError(`not a directory: ${dir}`, '--watch needs the folder images arrive in');
  const settleMs = parseDurationMs('--settle', flags.settle ?? COMMAND_DEFAULTS.settle, { min: 0, max: 600_000 })!;
  const out = ctx.out;
  const mldb = ctx.mldb();
  const saved = await mldb.openModel(modelRef);
  const identity = modelIdentity(saved, shortPath(saved.dir));

  let log: PredictionLog | undefined;
  if (flags.log !== false) {
    try {
      await mldb.connection();
      log = new PredictionLog(() => mldb.connection(), {
        maxQueueRows: 100_000,
        maxQueueBytes: 64 * 1024 * 1024,
        maxBatchRows: 500,
        flushMs: 50,
        onWriteError: (e, queued) =>
          out.note(
            `mldb: cannot write the prediction log (${(e as Error).message}); ${queued} row(s) queued, retrying`,
          ),
        onRecovered: () => out.note('mldb: prediction log writes resumed'),
      });
    } catch (e) {
      out.note(`mldb: predictions are not logged: ${(e as Error).message}`);
    }
  }
  const sink: LogSink = log ?? { push: () => true, stats: () => ({ queued: 0 }) as ReturnType<LogSink['stats']> };
  const predictor = new Predictor(saved, identity, sink, createMetrics(), {
    top,
    maxPixels: 25e6,
    logInputs: false,
    maxLoggedInputBytes: 0,
    maxBatch: BATCH_FILES,
    batchWindowMs: 0,
  });

  const controller = new AbortController();
  const interrupts = watchInterrupts(() => controller.abort());
  const arrivals = new FileArrivals(dir, {
    layout: 'any',
    settleMs,
    maxQueueFiles: 4096,
    maxQueueBytes: 128 * 1024 * 1024,
    maxFileBytes: MAX_FILE_BYTES,
    onRejected: (r) => {
      summary.files++;
      summary.failed++;
      if (out.json) process.stdout.write(JSON.stringify({ type: 'prediction', file: r.path, error: r.reason }) + '\n');
      else process.stderr.write(`mldb: cannot read ${printable(r.path)}: ${r.reason}\n`);
    },
    onError: (e) => out.note(`mldb: watching ${dir}: ${e.message}`),
  });
  const started = Date.now();
  const summary: PredictWatchSummary = {
    type: 'summary',
    watch: true,
    model: identity.name,
    folder: dir,
    files: 0,
    predicted: 0,
    failed: 0,
    logged: null,
    unlogged: 0,
    seconds: 0,
  };
  const client = os.hostname().slice(0, 64);
  try {
    await arrivals.start();
    out.note(
      `mldb predict: ${identity.name} watching ${dir}${log ? ' (logged in mldb_predictions)' : ''}; Ctrl-C stops`,
    );
    for (;;) {
      const batch = await arrivals.take(BATCH_FILES, BATCH_WAIT_MS, controller.signal);
      if (batch.length === 0) break;
      const results = await Promise.all(
        batch.map((a) =>
          predictor.classify({ bytes: a.bytes, name: a.relative }, { source: 'watch', client, startedAt: a.seenAt }),
        ),
      );
      batch.forEach((a, i) => {
        report(a, results[i], dir, out.json);
        arrivals.handled(a);
        if ('label' in results[i]) summary.predicted++;
        else summary.failed++;
      });
      summary.files += batch.length;
    }
  } finally {
    interrupts.dispose();
    await arrivals.close();
    await predictor.close();
    if (log) {
      summary.unlogged = await log.drain(DRAIN_TIMEOUT_MS);
      summary.logged = log.stats().written;
    }
    saved.model.dispose();
  }
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

function report(a: Arrival, r: ImageResult, dir: string, json: boolean): void {
  const file = path.join(dir, a.relative);
  if (json) {
    process.stdout.write(JSON.stringify({ type: 'prediction', file, ...r }) + '\n');
  } else if ('label' in r) {
    const top = r.top.map((t) => `${t.label} ${t.probability.toFixed(3)}`).join(', ');
    process.stdout.write(`${file}\t${r.label}\t${r.confidence.toFixed(4)}\t${top}\n`);
  } else {
    process.stderr.write(`mldb: cannot read ${file}: ${r.error}\n`);
  }
}
