import { better, type Direction, type PrunerName, type TrialHistory, type TrialState } from './types';

/**
 * Rules that stop a losing trial early, judged each time it reports an intermediate value (an
 * epoch's validation metric), against a bounded number of the study's latest trials.
 */

/** Trials a pruner compares with: the latest ones of each state it reads, so a report's cost stays bounded. */
export const PRUNER_HISTORY = 100;
/** ASHA's reduction factor: one trial in this many goes on at each rung. */
export const ASHA_REDUCTION = 3;

export interface PruneQuestion {
  /** The trial's intermediate values so far, [step, value], the latest last. */
  steps: Array<[number, number]>;
  direction: Direction;
  /** Completed trials needed before anything is pruned. */
  startupTrials: number;
  /** The latest trials of the states `PRUNER_STATES[name]` lists. */
  others: TrialHistory[];
}

/** Which states of other trials each pruner reads. */
export const PRUNER_STATES: Record<PrunerName, TrialState[]> = {
  none: [],
  median: ['completed'],
  asha: ['completed', 'pruned', 'running'],
};

const valueAt = (t: TrialHistory, step: number) => t.steps.find(([s]) => s === step)?.[1];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Optuna's MedianPruner: the trial's best value so far is worse than the median of the completed
 * trials' values at the same step.
 */
function medianPrune(q: PruneQuestion): boolean {
  const completed = q.others.filter((t) => t.state === 'completed');
  if (completed.length < q.startupTrials || q.steps.length === 0) return false;
  const step = q.steps[q.steps.length - 1][0];
  const at = completed.map((t) => valueAt(t, step)).filter((v): v is number => v !== undefined);
  if (at.length === 0) return false;
  const own = q.steps.map(([, v]) => v).reduce((a, b) => (better(q.direction, b, a) ? b : a));
  return better(q.direction, median(at), own);
}

/**
 * Asynchronous successive halving (Li et al. 2020, Optuna's SuccessiveHalvingPruner): rungs at
 * steps 1, 3, 9, …; at a rung the trial goes on only when its value is among the best
 * 1/ASHA_REDUCTION of the values every trial reported at that rung, itself included.
 */
function isRung(step: number): boolean {
  let rung = 1;
  while (rung < step) rung *= ASHA_REDUCTION;
  return rung === step;
}

function ashaPrune(q: PruneQuestion): boolean {
  if (q.others.filter((t) => t.state === 'completed').length < q.startupTrials || q.steps.length === 0) return false;
  const [step, own] = q.steps[q.steps.length - 1];
  if (!isRung(step)) return false;
  const competing = [own, ...q.others.map((t) => valueAt(t, step)).filter((v): v is number => v !== undefined)];
  const keep = Math.max(1, Math.floor(competing.length / ASHA_REDUCTION));
  const sorted = competing.sort((a, b) => (better(q.direction, a, b) ? -1 : better(q.direction, b, a) ? 1 : 0));
  return better(q.direction, sorted[keep - 1], own);
}

export function shouldPrune(name: PrunerName, q: PruneQuestion): boolean {
  if (name === 'median') return medianPrune(q);
  if (name === 'asha') return ashaPrune(q);
  return false;
}
