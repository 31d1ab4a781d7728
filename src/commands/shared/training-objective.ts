import path from 'node:path';
import type { Db } from '../../db/db';
import { completedRunForPlanKey } from '../../db/run-queries';
import { isMldbError, EXIT, InvalidDataError } from '../../errors';
import { combinationLabel, combinationOf, planKey, type ExperimentPlan } from '../../ml/experiment-plan';
import { epochValue, TrialReporting } from '../../ml/trial-reporting';
import { resolveMemoryBudget } from '../../samples/memory-budget';
import { resolveReadParallelism } from '../../samples/bulk-read';
import type { Objective } from '../../study/worker';
import type { CommandContext } from '../context';
import { trainWithProgress } from './training';

/**
 * A plan's trial as a training run: the trial's parameters are a combination, trained with the
 * plan's shared settings and recorded under the plan's key (a combination completed by an mldb
 * from before studies, or whose trial row was not updated, counts as done and is not trained
 * again). The value is the objective's validation metric at the epoch whose weights were saved.
 */
export function trainingObjective(
  ctx: CommandContext,
  db: Db,
  plan: ExperimentPlan,
  failures: { exitCode: number | null },
): Objective {
  const memoryBudget = resolveMemoryBudget(undefined, ctx.settings().memoryBudget);
  const readParallelism = resolveReadParallelism(undefined, ctx.settings().readParallelism);
  const objective = plan.search.objective;
  return async (trial) => {
    const c = combinationOf(trial.params);
    const key = planKey(plan, c);
    const label = combinationLabel(c);
    const done = await completedRunForPlanKey(db, key);
    // A run that stopped short of its epochs without early stopping was pruned (by a study with a
    // pruner): it is no completed trial for a study without one.
    if (done && (done.epochsDone >= c.epochs || plan.patience > 0)) {
      const value = objective === 'val_loss' ? done.final?.valLoss : done.final?.valAccuracy;
      return { value: value ?? null, runId: done.id };
    }
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
        callbacks: [new TrialReporting(trial, objective)],
      });
      const kept = r.epochs.find((e) => e.epoch === r.restoredEpoch) ?? r.epochs[r.epochs.length - 1];
      const value = kept ? epochValue(kept, objective) : null;
      if (value === null)
        throw new InvalidDataError(
          `run ${r.runId ?? '-'} has no ${objective}: the table has no validation rows to choose by`,
          'give the plan a validationSplit above 0, or import a validation split',
        );
      return { value, runId: r.runId };
    } catch (err) {
      failures.exitCode ??= isMldbError(err) ? err.exitCode : EXIT.INTERNAL;
      throw err;
    }
  };
}
