import type { Db } from '../db/db';
import { listTrials, type ListedTrial } from '../db/studies';
import type { Study } from './study';
import { better, type Params, type TrialState } from './types';

/** A trial as the leaderboard shows it. */
export interface RankedTrial {
  number: number;
  state: TrialState;
  params: Params | null;
  /** The objective's value (completed trials); a pruned trial's last reported value. */
  value: number | null;
  steps: Array<[number, number]>;
  worker: string | null;
  attempts: number;
  runId: number | null;
  error: string | null;
  /** The trained run's test accuracy, when there is one: shown, never used to choose. */
  testAccuracy: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  heartbeatAge: number | null;
}

function ranked(t: ListedTrial): RankedTrial {
  return {
    number: t.number,
    state: t.state,
    params: t.params === null ? null : (JSON.parse(t.params) as Params),
    value: t.value,
    steps: t.steps === null ? [] : (JSON.parse(t.steps) as Array<[number, number]>),
    worker: t.worker,
    attempts: t.attempts,
    runId: t.runId,
    error: t.error,
    testAccuracy: t.testAccuracy,
    startedAt: t.startedAt,
    finishedAt: t.finishedAt,
    heartbeatAge: t.heartbeatAge,
  };
}

const ORDER: Record<TrialState, number> = { completed: 0, running: 1, pruned: 2, waiting: 3, failed: 4 };

/**
 * The study's trials ranked by the objective (its direction), completed ones first: only a
 * completed trial is ever selected, so neither a pruned trial nor the test score takes part in
 * the choice.
 */
export async function studyLeaderboard(
  db: Db,
  study: Study,
): Promise<{ trials: RankedTrial[]; selected: RankedTrial | null }> {
  const trials = (await listTrials(db, study.id)).map(ranked);
  const { direction } = study.spec;
  trials.sort((a, b) => {
    if (a.state !== b.state) return ORDER[a.state] - ORDER[b.state];
    if (a.value === null || b.value === null)
      return a.value === null ? (b.value === null ? a.number - b.number : 1) : -1;
    if (a.value === b.value) return a.number - b.number;
    return better(direction, a.value, b.value) ? -1 : 1;
  });
  const selected = trials[0]?.state === 'completed' && trials[0].value !== null ? trials[0] : null;
  return { trials, selected };
}
