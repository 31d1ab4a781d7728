import crypto from 'node:crypto';
import os from 'node:os';
import type { Db } from '../db/db';
import { recentTrials, trialCounts, type TrialRow } from '../db/studies';
import { claimTrial, finishTrial, releaseTrial, requeueFailed, setTrialParams } from '../db/trial-claims';
import { randomParams, TPE_HISTORY, tpeParams, trialRandom } from './samplers';
import type { Study } from './study';
import { historyOf, RunningTrial, type Trial } from './trial';
import type { Params } from './types';

/** What an objective returns: its value, and the run it recorded when it trained one. */
export type ObjectiveResult = number | { value: number | null; runId?: number | null };

/**
 * Any function of a trial: it reads `trial.params`, may `report` intermediate values and should
 * stop when `trial.shouldStop()` says so. Training is one (commands/shared/training-objective.ts).
 */
export type Objective = (trial: Trial) => Promise<ObjectiveResult>;

export interface WorkerOptions {
  /** A running trial whose heartbeat is older than this goes back to the queue (default 60 s). */
  graceSeconds?: number;
  /** Seconds a worker with nothing to claim waits for others' running trials (default 0). */
  waitSeconds?: number;
  /** Trials this worker runs at most (default: as many as it can claim). */
  maxTrials?: number;
  /** Whether an error the objective threw is an interruption (Ctrl-C): the trial goes back to the queue. */
  isInterruption?: (err: unknown) => boolean;
  /** Told about each trial as it starts and ends. */
  onTrial?: (event: TrialEvent) => void;
}

export type TrialEvent =
  | { kind: 'start'; number: number; params: Params; attempts: number }
  | {
      kind: 'end';
      number: number;
      state: 'completed' | 'pruned' | 'failed' | 'lost';
      value: number | null;
      error: string | null;
    }
  | { kind: 'waiting'; running: number };

export interface WorkerSummary {
  worker: string;
  completed: number;
  pruned: number;
  failed: number;
  /** Trials this worker started that another took over (its heartbeat went stale): not recorded by it. */
  lost: number;
}

export const DEFAULT_GRACE_SECONDS = 60;

/** host:pid:random — unique across machines and across restarts of one pid. */
export function workerId(): string {
  return `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`.slice(0, 191);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function drawParams(db: Db, study: Study, row: TrialRow, worker: string): Promise<Params | null> {
  if (row.params !== null) return JSON.parse(row.params) as Params;
  const { space, sampler, seed, direction } = study.spec;
  const random = trialRandom(seed, row.number);
  const params =
    sampler === 'tpe'
      ? tpeParams(
          space,
          (await recentTrials(db, study.id, ['completed'], TPE_HISTORY)).map(historyOf),
          direction,
          random,
        )
      : randomParams(space, random);
  return (await setTrialParams(db, row.id, worker, JSON.stringify(params))) ? params : null;
}

function valueOf(result: ObjectiveResult): { value: number | null; runId: number | null } {
  if (typeof result === 'number') return { value: Number.isFinite(result) ? result : null, runId: null };
  return {
    value: result.value !== null && Number.isFinite(result.value) ? result.value : null,
    runId: result.runId ?? null,
  };
}

/** Runs one claimed trial to its end and records it, unless it was taken away meanwhile. */
async function runTrial(
  db: Db,
  study: Study,
  trial: RunningTrial,
  objective: Objective,
  options: WorkerOptions,
): Promise<{ state: 'completed' | 'pruned' | 'failed' | 'lost'; value: number | null; error: string | null }> {
  let end: {
    state: 'completed' | 'pruned' | 'failed';
    value: number | null;
    runId: number | null;
    error: string | null;
  };
  try {
    const { value, runId } = valueOf(await objective(trial));
    const last = trial.steps[trial.steps.length - 1]?.[1] ?? null;
    if (trial.pruned) end = { state: 'pruned', value: last, runId, error: null };
    else if (value === null)
      end = { state: 'failed', value: null, runId, error: `the objective returned no ${study.spec.objective}` };
    else end = { state: 'completed', value, runId, error: null };
  } catch (err) {
    if (options.isInterruption?.(err)) {
      trial.stop();
      await releaseTrial(db, trial.row.id, trial.worker).catch(() => undefined);
      throw err;
    }
    end = { state: 'failed', value: null, runId: null, error: (err as Error).message ?? String(err) };
  } finally {
    trial.stop();
  }
  const recorded =
    !trial.lost && (await finishTrial(db, trial.row.id, trial.worker, { ...end, steps: JSON.stringify(trial.steps) }));
  return { state: recorded ? end.state : 'lost', value: end.value, error: end.error };
}

/**
 * One worker of a study: claims trials until none is left (waiting up to `waitSeconds` for the
 * running trials of others, which may come back to the queue if their worker died), running the
 * objective on each. Any number of these, in any processes on any machines, share the study
 * through the database: each trial runs to its end exactly once between them.
 */
export async function runWorker(
  db: Db,
  study: Study,
  objective: Objective,
  options: WorkerOptions = {},
): Promise<WorkerSummary> {
  const worker = workerId();
  const graceMs = (options.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
  // Several beats per grace period: one delayed beat never makes a live trial look dead.
  const heartbeatMs = Math.max(50, Math.min(5000, graceMs / 4));
  const pollMs = Math.max(50, Math.min(1000, graceMs / 4));
  const summary: WorkerSummary = { worker, completed: 0, pruned: 0, failed: 0, lost: 0 };
  const suggests = study.spec.sampler !== 'grid';
  await requeueFailed(db, study.id);
  let waitedMs = 0;
  for (let ran = 0; ran < (options.maxTrials ?? Infinity);) {
    const row = await claimTrial(db, study.id, worker, graceMs, suggests);
    if (!row) {
      const counts = await trialCounts(db, study.id, graceMs);
      if (counts.running === 0 || waitedMs >= (options.waitSeconds ?? 0) * 1000) break;
      if (waitedMs === 0) options.onTrial?.({ kind: 'waiting', running: counts.running });
      await sleep(pollMs);
      waitedMs += pollMs;
      continue;
    }
    waitedMs = 0;
    ran++;
    const params = await drawParams(db, study, row, worker);
    if (!params) {
      summary.lost++;
      continue;
    }
    options.onTrial?.({ kind: 'start', number: row.number, params, attempts: row.attempts });
    const trial = new RunningTrial(db, study, row, params, worker, heartbeatMs);
    const end = await runTrial(db, study, trial, objective, options);
    summary[end.state]++;
    options.onTrial?.({ kind: 'end', number: row.number, ...end });
  }
  return summary;
}
