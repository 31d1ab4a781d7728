import path from 'node:path';
import { getDataset } from '../db/registry';
import { completedRunForPlanKey } from '../db/run-queries';
import { EXIT, isMldbError, InterruptedError } from '../errors';
import { combinationLabel, planKey, readPlan, type Combination } from '../ml/experiment-plan';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import { formatDuration, fixed4 } from '../ui/terminal';
import type { CommandContext } from './context';
import { resolveMemoryBudget } from '../samples/memory-budget';
import { resolveReadParallelism } from '../samples/bulk-read';
import { parseMinAccuracy, trainWithProgress } from './shared/training';

export interface ExperimentFlags {
  minAccuracy?: string;
  dryRun?: boolean;
}

export interface ExperimentEntry extends Combination {
  label: string;
  /** completed: trained now; skipped: completed by an earlier run of the plan; failed; pending (dry run). */
  outcome: 'completed' | 'skipped' | 'failed' | 'pending';
  runId: number | null;
  valAccuracy: number | null;
  testAccuracy: number | null;
  seconds: number | null;
  error: string | null;
}

export interface ExperimentResult {
  name: string;
  table: string;
  /** Ranked: best test accuracy first. */
  leaderboard: ExperimentEntry[];
  trained: number;
  skipped: number;
  failed: number;
  best: ExperimentEntry | null;
  minAccuracy: number | null;
  belowThreshold: boolean;
  /** Exit code of the first failed combination, if any. */
  failureExitCode: number | null;
}

const rank = (e: ExperimentEntry) => e.testAccuracy ?? e.valAccuracy ?? -1;

export async function run(ctx: CommandContext, planFile: string, flags: ExperimentFlags): Promise<ExperimentResult> {
  const minAccuracy = parseMinAccuracy(flags.minAccuracy);
  const plan = readPlan(planFile);
  const mldb = ctx.mldb();
  const db = await mldb.connection();
  await getDataset(db, plan.table); // a missing table is one error up front, not N failed runs
  const memoryBudget = resolveMemoryBudget(undefined, ctx.settings().memoryBudget);
  const readParallelism = resolveReadParallelism(undefined, ctx.settings().readParallelism);
  const entries: ExperimentEntry[] = [];
  let failureExitCode: number | null = null;
  ctx.out.note(`experiment "${plan.name}": ${plan.combinations.length} combination(s) on table ${plan.table}`);
  for (const [i, c] of plan.combinations.entries()) {
    const key = planKey(plan, c);
    const label = combinationLabel(c);
    const entry: ExperimentEntry = {
      ...c,
      label,
      outcome: 'pending',
      runId: null,
      valAccuracy: null,
      testAccuracy: null,
      seconds: null,
      error: null,
    };
    entries.push(entry);
    const done = await completedRunForPlanKey(db, key);
    if (done) {
      Object.assign(entry, {
        outcome: 'skipped',
        runId: done.id,
        valAccuracy: done.final?.valAccuracy ?? null,
        testAccuracy: done.test?.accuracy ?? null,
        seconds: done.seconds,
      });
      ctx.out.note(`[${i + 1}/${plan.combinations.length}] ${label}: done before (run ${done.id}), skipped`);
      continue;
    }
    if (flags.dryRun) {
      ctx.out.note(`[${i + 1}/${plan.combinations.length}] ${label}: to do`);
      continue;
    }
    ctx.out.note(`[${i + 1}/${plan.combinations.length}] ${label}`);
    try {
      const r = await trainWithProgress(ctx, {
        table: plan.table,
        ...c,
        validationSplit: plan.validationSplit,
        patience: plan.patience,
        ...plan.recipe,
        backend: plan.backend,
        workers: plan.workers,
        memoryBudget,
        readParallelism,
        save: path.join(plan.save, label),
        record: { name: `${plan.name}/${label}`, experiment: plan.name, planKey: key },
      });
      const last = r.epochs[r.epochs.length - 1];
      Object.assign(entry, {
        outcome: 'completed',
        runId: r.runId,
        valAccuracy: last?.valAccuracy ?? null,
        testAccuracy: r.test?.accuracy ?? null,
        seconds: r.epochs.reduce((a, e) => a + e.seconds, 0),
      });
    } catch (err) {
      // Ctrl-C ends the experiment (the run is recorded as interrupted); anything else fails
      // this combination only, and the others still run.
      if (err instanceof InterruptedError) throw err;
      const line = isMldbError(err) ? err.line : (err as Error).message;
      Object.assign(entry, { outcome: 'failed', error: line });
      failureExitCode ??= isMldbError(err) ? err.exitCode : EXIT.INTERNAL;
      ctx.out.note(`mldb: ${label} failed: ${line}`);
    }
  }
  const leaderboard = [...entries].sort((a, b) => rank(b) - rank(a));
  const finished = leaderboard.filter((e) => e.outcome === 'completed' || e.outcome === 'skipped');
  const best = finished[0] ?? null;
  const bestAccuracy = best ? (best.testAccuracy ?? best.valAccuracy) : null;
  const belowThreshold = !flags.dryRun && minAccuracy !== null && (bestAccuracy === null || bestAccuracy < minAccuracy);
  if (belowThreshold)
    ctx.out.note(
      `mldb: the best accuracy ${bestAccuracy?.toFixed(4) ?? '(none)'} is below --min-accuracy ${minAccuracy} ` +
        `(exit ${EXIT.BELOW_THRESHOLD})`,
    );
  return {
    name: plan.name,
    table: plan.table,
    leaderboard,
    trained: entries.filter((e) => e.outcome === 'completed').length,
    skipped: entries.filter((e) => e.outcome === 'skipped').length,
    failed: entries.filter((e) => e.outcome === 'failed').length,
    best,
    minAccuracy,
    belowThreshold,
    failureExitCode,
  };
}

export function print(r: ExperimentResult, out: Output): void {
  out.line(`experiment "${r.name}" on ${r.table}: ${r.trained} trained, ${r.skipped} done before, ${r.failed} failed`);
  out.line(
    renderTable(
      ['#', 'run', 'model', 'optimizer', 'lr', 'batch', 'epochs', 'seed', 'outcome', 'val acc', 'test acc', 'time'],
      r.leaderboard.map((e, i) => [
        i + 1,
        e.runId ?? '-',
        e.model,
        e.optimizer,
        e.learningRate,
        e.batchSize,
        e.epochs,
        e.seed,
        e.outcome,
        fixed4(e.valAccuracy),
        fixed4(e.testAccuracy),
        e.seconds === null ? '-' : formatDuration(e.seconds),
      ]),
      ['right', 'right', 'left', 'left', 'right', 'right', 'right', 'right', 'left', 'right', 'right', 'right'],
    ),
  );
  if (r.best?.runId) out.line(`best: run ${r.best.runId} (${r.best.label}); details: mldb runs show ${r.best.runId}`);
}

/** Failures first (a broken combination is worse news than a low score), then the threshold. */
export function exitCode(r: ExperimentResult): number {
  if (r.failureExitCode !== null) return r.failureExitCode;
  return r.belowThreshold ? EXIT.BELOW_THRESHOLD : EXIT.OK;
}
