import { InterruptedError } from '../../errors';
import type { DataPlan } from '../../ml/train';
import { recordedStart } from '../../ml/start-from';
import { TRAINING_DEFAULTS } from '../../ml/training-options';
import type { TrainReport } from '../../ml/training-run';
import type { TrainMethodOptions } from '../../mldb';
import { watchInterrupts } from '../../ui/interrupt';
import { createProgress } from '../../ui/progress';
import { formatBytes, formatCount, formatDuration } from '../../ui/terminal';
import type { CommandContext } from '../context';
import { parseNumber } from '../options';
import { startLines } from './start-lines';
import { TrainingProgress } from './training-progress';

/** What `train` and `experiment` share: a run with its progress lines, and the accuracy gate. */

/** The result of `mldb train`: the run, and the threshold it was held to. */
export type TrainOutcome = TrainReport & { minAccuracy: number | null; belowThreshold: boolean };

/** Test accuracy, or validation accuracy when the table has no test rows. */
export function gatedAccuracy(r: TrainReport): { value: number | null; on: 'test' | 'validation' | null } {
  if (r.test) return { value: r.test.accuracy, on: 'test' };
  const last = r.epochs[r.epochs.length - 1];
  return last?.valAccuracy != null ? { value: last.valAccuracy, on: 'validation' } : { value: null, on: null };
}

/**
 * One training run with what a person or a CI log wants to see: data plan, backend, a line per
 * epoch, progress within epochs, Ctrl-C handling (InterruptedError after recording), TensorBoard.
 */
export async function trainWithProgress(
  ctx: CommandContext,
  options: TrainMethodOptions,
  tensorboard?: string,
): Promise<TrainReport> {
  const mldb = ctx.mldb();
  const progress = await createProgress('reading rows', { document: ctx.out.json });
  // With --json stdout is the document's and there is no spinner: notes go to stderr as lines.
  const say = (text: string) => (ctx.out.json ? ctx.out.note(text) : progress.log(text));
  const stop = watchInterrupts(() => say('stopping after this batch (Ctrl-C again to abort at once)'));
  const lines = new TrainingProgress(progress, say, options.epochs ?? TRAINING_DEFAULTS.epochs);
  let report: TrainReport;
  try {
    report = await mldb.train({
      ...options,
      // The lines first: an epoch is printed before a caller's callback acts on it.
      callbacks: [lines, ...(options.callbacks ?? [])],
      shouldStop: () => stop.requested,
      onData: (d, choices) => {
        say(dataLine(d));
        for (const line of startLines({ ...choices.hyperparameters, ...recordedStart(choices.start) })) say(line);
        lines.releasedAt = choices.start?.freeze?.unfreezeAt ?? null;
      },
      onRecordWait: (runId, seconds) =>
        say(`database unreachable: waiting up to ${seconds} s for it to record the end of run ${runId}`),
      onBackend: (name, reason, workers) => {
        say(`backend: ${name} (${reason})${workers > 1 ? `, batches split over ${workers} threads` : ''}`);
        if (tensorboard) lines.openTensorBoard(tensorboard, name);
      },
      onTestStart: (rows) => progress.update(`evaluating on ${formatCount(rows)} test rows`),
    });
  } catch (err) {
    progress.clear();
    throw err;
  } finally {
    stop.dispose();
    lines.dispose();
  }
  if (report.stopReason === 'interrupted') {
    progress.clear();
    throw new InterruptedError(
      `training interrupted by ${stop.signal ?? 'a signal'} after ${report.epochs.length} complete ` +
        `epoch(s)${report.runId ? ` (run ${report.runId}, recorded as interrupted)` : ''}; no model was saved`,
      'run again to train from the start',
    );
  }
  progress.succeed(`trained ${report.model} in ${formatDuration(report.epochs.reduce((a, e) => a + e.seconds, 0))}`);
  return report;
}

function dataLine(d: DataPlan): string {
  return (
    `data: ${formatCount(d.train)} train / ${formatCount(d.validation)} validation rows ` +
    `(${d.validationFrom === 'split' ? 'the validation split' : 'held out by seed'})` +
    (d.streaming
      ? `, streamed ${formatCount(d.chunkRows)} rows per read (memory budget ${formatBytes(d.memoryBudget)})`
      : ', in memory')
  );
}

/** --min-accuracy: a fraction in [0, 1], or none. */
export function parseMinAccuracy(text: string | undefined): number | null {
  return parseNumber('--min-accuracy', text, { min: 0, max: 1 }) ?? null;
}
