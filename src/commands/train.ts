import { resolveMemoryBudget } from '../samples/memory-budget';
import { resolveReadParallelism } from '../samples/bulk-read';
import { EXIT, UsageError } from '../errors';
import type { TrainReport } from '../ml/training-run';
import type { Output } from '../ui/output';
import { formatCount, quote, shortPath } from '../ui/terminal';
import type { CommandContext } from './context';
import { likeRun } from './shared/like-run';
import { trainingOptionsFromFlags, type TrainingFlagValues } from './shared/training-flags';
import { gatedAccuracy, parseMinAccuracy, trainWithProgress, type TrainOutcome } from './shared/training';

/** The flags of `mldb train`: every training option's (training-flags.ts), and the run's own. */
export interface TrainFlags extends TrainingFlagValues {
  model?: string;
  save?: string;
  readParallelism?: string;
  name?: string;
  minAccuracy?: string;
  tensorboard?: string;
  /** false with --no-store. */
  store?: boolean;
  storeAs?: string;
  rowsUntil?: string;
  like?: string;
}

export async function run(ctx: CommandContext, flags: TrainFlags, table?: string): Promise<TrainOutcome> {
  if (flags.like !== undefined && (flags.rowsUntil !== undefined || table !== undefined)) {
    throw new UsageError("--like takes the run's table version and row set", 'drop --rows-until and --table');
  }
  const like = flags.like !== undefined ? await likeRun(ctx, flags.like) : undefined;
  const model = flags.model ?? like?.model;
  if (!model) throw new UsageError('--model is required', 'list the choices with `mldb models`');
  const minAccuracy = parseMinAccuracy(flags.minAccuracy);
  // Flags are converted, not checked: MlDb.train checks every option once (trainModel), naming
  // the field, and the CLI shows it as its flag. Until then the values are as given; with --like,
  // over the run's own settings.
  const given = { ...like?.options, ...trainingOptionsFromFlags(flags) };
  const options = {
    ...given,
    model,
    memoryBudget: resolveMemoryBudget(flags.memoryBudget as string | undefined, ctx.settings().memoryBudget),
    readParallelism: resolveReadParallelism(flags.readParallelism, ctx.settings().readParallelism),
    save: flags.save,
    record: { name: flags.name ?? null },
    store: flags.store === false ? (false as const) : { name: flags.storeAs },
  };
  if (flags.store === false && flags.storeAs !== undefined)
    throw new UsageError('--store-as names the stored model; it cannot go with --no-store', 'drop one of them');
  const rowsUntil = like?.rowsUntil ?? (await resolveRowsUntil(ctx, flags.rowsUntil));
  const report = await trainWithProgress(
    ctx,
    { ...options, rowsUntil, table: like?.table ?? ctx.config().table },
    flags.tensorboard,
  );
  const gate = gatedAccuracy(report);
  const belowThreshold = minAccuracy !== null && (gate.value === null || gate.value < minAccuracy);
  if (belowThreshold) {
    ctx.out.note(
      gate.value === null
        ? `mldb: no test or validation accuracy to hold to --min-accuracy ${minAccuracy}: import with ` +
            `--test-fraction above 0`
        : `mldb: ${gate.on} accuracy ${gate.value.toFixed(4)} is below --min-accuracy ${minAccuracy} (run ` +
            `${report.runId} recorded; exit ${EXIT.BELOW_THRESHOLD})`,
    );
  }
  return { ...report, minAccuracy, belowThreshold };
}

/** `--rows-until ID` or `run:ID` (that run's row set), checked before any run row exists. */
async function resolveRowsUntil(ctx: CommandContext, text: string | undefined): Promise<number | undefined> {
  if (text === undefined) return undefined;
  const id = /^\d{1,15}$/.test(text) ? Number(text) : undefined;
  if (id !== undefined) return id;
  const run = /^run:(\d{1,15})$/.exec(text);
  if (!run)
    throw new UsageError(`invalid --rows-until "${text}"`, 'pass a row id, or run:ID to train on the rows of that run');
  const record = await ctx.mldb().run(Number(run[1]));
  if (record.rowsUntil === null) {
    throw new UsageError(
      `run ${record.id} did not record its row set (it was trained before runs recorded their row set)`,
      'pass a row id instead',
    );
  }
  return record.rowsUntil;
}

export function exitCode(r: TrainOutcome): number {
  return r.belowThreshold ? EXIT.BELOW_THRESHOLD : EXIT.OK;
}

export function print(r: TrainReport, out: Output): void {
  const last = r.epochs.find((e) => e.epoch === r.restoredEpoch) ?? r.epochs[r.epochs.length - 1];
  const run = r.runId ? `run ${r.runId}${r.name ? ` (${r.name})` : ''}: ` : '';
  const early = r.stopReason === 'early-stopping' ? ' (stopped early: val_loss stopped improving)' : '';
  out.line(
    `${run}trained ${r.model} on ${r.table}${r.tableVersion !== null ? `@${r.tableVersion}` : ''}: ` +
      `${formatCount(r.split.train)} train / ${formatCount(r.split.validation)} validation rows ` +
      `(ids ≤ ${r.rowsUntil}), ` +
      `${r.epochs.length} epoch(s)${early}, ${r.backend} backend`,
  );
  const validation =
    last.valAccuracy !== null
      ? ` · val_loss ${last.valLoss!.toFixed(4)} val_accuracy ${last.valAccuracy.toFixed(4)}`
      : '';
  const which = r.restoredEpoch !== null ? `kept epoch ${r.restoredEpoch} (best val_loss)` : 'final';
  out.line(`${which}: loss ${last.loss.toFixed(4)} accuracy ${last.accuracy.toFixed(4)}${validation}`);
  if (r.test) {
    out.line(
      `test: loss ${r.test.loss.toFixed(4)} accuracy ${r.test.accuracy.toFixed(4)} on ` +
        `${formatCount(r.test.count)} rows (macro F1 ${r.test.macro.f1.toFixed(4)})`,
    );
  } else {
    out.line('test: the table has no test rows (import with --test-fraction above 0 to measure)');
  }
  const stored = r.storedModel ? ` and stored as ${r.storedModel.name}@${r.storedModel.version}` : '';
  out.line(`saved to ${shortPath(r.savedTo!)}${stored}`);
  const ref = r.runId && r.storedModel ? `run:${r.runId}` : quote(shortPath(r.savedTo!));
  if (r.test) out.line(`details: mldb evaluate --model ${ref} --table ${r.table}`);
  if (r.storedModel) out.line(`serve it: mldb serve --model ${ref}`);
}
