/**
 * A study: trials of an objective over a search space, run by any number of workers that share
 * the database. These are its words; the SQL is db/studies.ts's, the search samplers.ts's, the
 * stopping rules pruners.ts's, and the worker's loop worker.ts's.
 */

/** One dimension of a search space: a list to choose from, or a range. */
export type Dimension =
  | { kind: 'choice'; values: Array<string | number> }
  | { kind: 'uniform' | 'log'; low: number; high: number }
  | { kind: 'int'; low: number; high: number };

export type Space = Record<string, Dimension>;
export type Params = Record<string, string | number>;

export const SAMPLERS = ['grid', 'random', 'tpe'] as const;
export type SamplerName = (typeof SAMPLERS)[number];
export const PRUNERS = ['none', 'median', 'asha'] as const;
export type PrunerName = (typeof PRUNERS)[number];
export type Direction = 'maximize' | 'minimize';

export const TRIAL_STATES = ['waiting', 'running', 'completed', 'pruned', 'failed'] as const;
export type TrialState = (typeof TRIAL_STATES)[number];

/** What defines a study: the same spec started anywhere joins the same study. */
export interface StudySpec {
  name: string;
  space: Space;
  sampler: SamplerName;
  /** Trials to run: the grid's size for a grid. */
  trials: number;
  seed: number;
  pruner: PrunerName;
  /** Trials that must complete before a pruner judges (Optuna's n_startup_trials). */
  startupTrials: number;
  /** The name of the value the objective returns (val_accuracy, val_loss, …), and which way is better. */
  objective: string;
  direction: Direction;
  /** Anything else that makes two studies different (a table, shared training settings). */
  context?: unknown;
}

/** A finished trial as samplers and pruners see it: bounded reads, never the whole study. */
export interface TrialHistory {
  number: number;
  state: TrialState;
  params: Params;
  value: number | null;
  /** Intermediate values reported, [step, value], in order. */
  steps: Array<[number, number]>;
}

/** Whether `a` is strictly better than `b` in this direction. */
export function better(direction: Direction, a: number, b: number): boolean {
  return direction === 'maximize' ? a > b : a < b;
}
