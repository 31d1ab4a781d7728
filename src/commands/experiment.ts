import { getDataset } from '../db/registry';
import { EXIT, InterruptedError } from '../errors';
import { OBJECTIVES } from '../ml/search-settings';
import {
  combinationLabel,
  combinationOf,
  readPlan,
  type Combination,
  type ExperimentPlan,
} from '../ml/experiment-plan';
import { studyLeaderboard, type RankedTrial } from '../study/leaderboard';
import { existingStudy, openStudy, type Study } from '../study/study';
import type { StudySpec, TrialState } from '../study/types';
import { DEFAULT_GRACE_SECONDS, runWorker } from '../study/worker';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import { formatDuration, fixed4 } from '../ui/terminal';
import type { CommandContext } from './context';
import { parseNumber } from './options';
import { parseMinAccuracy } from './shared/training';
import { trainingObjective } from './shared/training-objective';

export interface ExperimentFlags {
  minAccuracy?: string;
  dryRun?: boolean;
  /** Seconds to wait, with nothing left to claim, for trials other workers are running. */
  wait?: string;
  /** Seconds without a heartbeat after which a running trial goes back to the queue. */
  grace?: string;
}

export interface ExperimentEntry extends Combination {
  trial: number;
  label: string;
  /** A trial's state; `pending` in a dry run of a study no worker has started. */
  outcome: TrialState | 'pending';
  runId: number | null;
  /** The plan's objective (a validation metric): what ranks the trials. */
  value: number | null;
  /** The run's test accuracy: shown, never used for the choice. */
  testAccuracy: number | null;
  /** Epochs reported to the study (a pruned trial stops early). */
  epochsDone: number;
  worker: string | null;
  seconds: number | null;
  error: string | null;
}

export interface ExperimentResult {
  name: string;
  table: string;
  study: { id: number | null; sampler: string; pruner: string; trials: number };
  /** The validation metric that ranked the trials and chose the selected one. */
  selectedBy: string;
  /** Ranked by `selectedBy`, completed trials first. */
  leaderboard: ExperimentEntry[];
  /** Trials this worker ran to the end (completed or pruned). */
  trained: number;
  /** Completed trials this worker did not run: done before, or by other workers. */
  skipped: number;
  pruned: number;
  failed: number;
  /** Trials still running on other workers when this one stopped waiting. */
  running: number;
  /** The selected trial: the best completed one by `selectedBy`. */
  best: ExperimentEntry | null;
  minAccuracy: number | null;
  /** What --min-accuracy was held to: the selected trial's test accuracy (validation without test rows). */
  gatedOn: 'test' | 'validation' | null;
  belowThreshold: boolean;
  /** Exit code of this worker's first failed trial, if any. */
  failureExitCode: number | null;
}

function studySpec(plan: ExperimentPlan): StudySpec {
  const { search } = plan;
  return {
    name: plan.name,
    space: plan.space,
    sampler: search.sampler,
    trials: search.trials,
    seed: search.seed,
    pruner: search.pruner,
    startupTrials: search.startupTrials,
    objective: search.objective,
    direction: OBJECTIVES[search.objective],
    context: {
      table: plan.table,
      validationSplit: plan.validationSplit,
      patience: plan.patience,
      recipe: plan.recipe,
    },
  };
}

function entryOf(t: RankedTrial): ExperimentEntry {
  const c = combinationOf(t.params ?? {});
  const seconds = t.startedAt && t.finishedAt ? (Date.parse(t.finishedAt) - Date.parse(t.startedAt)) / 1000 : null;
  return {
    trial: t.number,
    ...c,
    label: t.params ? combinationLabel(c) : '(not drawn yet)',
    outcome: t.state,
    runId: t.runId,
    value: t.value,
    testAccuracy: t.testAccuracy,
    epochsDone: t.steps.length,
    worker: t.worker,
    seconds,
    error: t.error,
  };
}

const pendingEntry = (c: Combination, i: number): ExperimentEntry => ({
  trial: i,
  ...c,
  label: combinationLabel(c),
  outcome: 'pending',
  runId: null,
  value: null,
  testAccuracy: null,
  epochsDone: 0,
  worker: null,
  seconds: null,
  error: null,
});

async function dryRun(ctx: CommandContext, plan: ExperimentPlan, study: Study | null): Promise<ExperimentEntry[]> {
  const db = await ctx.mldb().connection();
  const entries = study
    ? (await studyLeaderboard(db, study)).trials.map(entryOf)
    : plan.combinations.map((c, i) => pendingEntry(c, i));
  for (const e of entries)
    ctx.out.note(
      `trial ${e.trial + 1} ${e.label}: ${e.outcome === 'pending' ? 'to do' : e.outcome}` +
        (e.runId ? ` (run ${e.runId})` : ''),
    );
  if (!study && plan.search.sampler !== 'grid')
    ctx.out.note(`${plan.search.trials} trial(s) to be drawn by the ${plan.search.sampler} sampler`);
  return entries;
}

export async function run(ctx: CommandContext, planFile: string, flags: ExperimentFlags): Promise<ExperimentResult> {
  const minAccuracy = parseMinAccuracy(flags.minAccuracy);
  const waitSeconds = parseNumber('--wait', flags.wait, { min: 0 }) ?? 0;
  const graceSeconds = parseNumber('--grace', flags.grace, { min: 0.1 }) ?? DEFAULT_GRACE_SECONDS;
  const plan = readPlan(planFile);
  const db = await ctx.mldb().connection();
  await getDataset(db, plan.table); // a missing table is one error up front, not N failed runs
  const spec = studySpec(plan);
  const { sampler, pruner, trials, objective } = plan.search;
  ctx.out.note(
    `experiment "${plan.name}": ${trials} trial(s) (${sampler}${pruner === 'none' ? '' : `, ${pruner} pruner`}) ` +
      `on table ${plan.table}, chosen by ${objective}`,
  );
  const failures = { exitCode: null as number | null };
  let summary = { completed: 0, pruned: 0, failed: 0, lost: 0, worker: '' };
  let entries: ExperimentEntry[];
  let study: Study | null;
  if (flags.dryRun) {
    study = await existingStudy(db, spec);
    entries = await dryRun(ctx, plan, study);
  } else {
    study = await openStudy(db, spec);
    summary = await runWorker(db, study, trainingObjective(ctx, db, plan, failures), {
      graceSeconds,
      waitSeconds,
      isInterruption: (err) => err instanceof InterruptedError,
      onTrial: (e) => {
        if (e.kind === 'waiting')
          ctx.out.note(`nothing left to claim; waiting up to ${waitSeconds} s for ${e.running} running trial(s)`);
        else if (e.kind === 'start')
          ctx.out.note(
            `[trial ${e.number + 1}/${trials}] ${combinationLabel(combinationOf(e.params))}` +
              (e.attempts > 1 ? ` (attempt ${e.attempts}: its previous worker stopped heartbeating)` : ''),
          );
        else if (e.state === 'pruned') ctx.out.note(`trial ${e.number + 1} pruned (${objective} ${fixed4(e.value)})`);
        else if (e.state === 'failed') ctx.out.note(`mldb: trial ${e.number + 1} failed: ${e.error}`);
        else if (e.state === 'lost')
          ctx.out.note(
            `trial ${e.number + 1} was taken over by another worker: its result is not recorded by this one`,
          );
      },
    });
    entries = (await studyLeaderboard(db, study)).trials.map(entryOf);
  }
  const best = entries[0]?.outcome === 'completed' && entries[0].value !== null ? entries[0] : null;
  const gatedOn = best?.testAccuracy != null ? 'test' : best && objective === 'val_accuracy' ? 'validation' : null;
  const gated = gatedOn === 'test' ? best!.testAccuracy : gatedOn === 'validation' ? best!.value : null;
  const belowThreshold = !flags.dryRun && minAccuracy !== null && (gated === null || gated < minAccuracy);
  if (belowThreshold)
    ctx.out.note(
      `mldb: the selected trial's ${gatedOn ?? 'test'} accuracy ${gated?.toFixed(4) ?? '(none)'} is below ` +
        `--min-accuracy ${minAccuracy} (exit ${EXIT.BELOW_THRESHOLD})`,
    );
  const count = (s: TrialState) => entries.filter((e) => e.outcome === s).length;
  return {
    name: plan.name,
    table: plan.table,
    study: { id: study?.id ?? null, sampler, pruner, trials },
    selectedBy: objective,
    leaderboard: entries,
    trained: summary.completed + summary.pruned,
    skipped: Math.max(0, count('completed') - summary.completed),
    pruned: count('pruned'),
    failed: count('failed'),
    running: count('running'),
    best,
    minAccuracy,
    gatedOn,
    belowThreshold,
    failureExitCode: failures.exitCode ?? (summary.failed > 0 ? EXIT.INTERNAL : null),
  };
}

/** Lines of the leaderboard printed at most: the JSON document has every trial. */
const SHOWN = 50;

export function print(r: ExperimentResult, out: Output): void {
  out.line(
    `experiment "${r.name}" on ${r.table}: ${r.trained} trained here, ${r.skipped} done before or elsewhere, ` +
      `${r.pruned} pruned, ${r.failed} failed${r.running ? `, ${r.running} still running` : ''}`,
  );
  out.line(
    renderTable(
      [
        '#',
        'trial',
        'run',
        'model',
        'optimizer',
        'lr',
        'batch',
        'epochs',
        'seed',
        'state',
        r.selectedBy,
        'test acc*',
        'time',
      ],
      r.leaderboard
        .slice(0, SHOWN)
        .map((e, i) => [
          i + 1,
          e.trial + 1,
          e.runId ?? '-',
          e.model,
          e.optimizer,
          e.learningRate,
          e.batchSize,
          e.outcome === 'pruned' ? `${e.epochsDone}/${e.epochs}` : e.epochs,
          e.seed,
          e.outcome,
          fixed4(e.value),
          fixed4(e.testAccuracy),
          e.seconds === null ? '-' : formatDuration(e.seconds),
        ]),
      [
        'right',
        'right',
        'right',
        'left',
        'left',
        'right',
        'right',
        'right',
        'right',
        'left',
        'right',
        'right',
        'right',
      ],
    ),
  );
  if (r.leaderboard.length > SHOWN) out.line(`… ${r.leaderboard.length - SHOWN} more trial(s) (--json lists them all)`);
  out.line(
    `* ranked and chosen by ${r.selectedBy}; test accuracy is shown for every trial but not used for the choice`,
  );
  if (r.best)
    out.line(
      `selected: trial ${r.best.trial + 1} (${r.best.label}) by ${r.selectedBy} ${fixed4(r.best.value)}` +
        `; its test accuracy ${fixed4(r.best.testAccuracy)}` +
        (r.best.runId ? `; details: mldb runs show ${r.best.runId}` : ''),
    );
}

/** Failures first (a broken trial is worse news than a low score), then the threshold. */
export function exitCode(r: ExperimentResult): number {
  if (r.failureExitCode !== null) return r.failureExitCode;
  return r.belowThreshold ? EXIT.BELOW_THRESHOLD : EXIT.OK;
}
