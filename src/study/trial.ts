import type { Db } from '../db/db';
import { recentTrials, type TrialRow } from '../db/studies';
import { heartbeatTrial, reportTrialSteps } from '../db/trial-claims';
import { PRUNER_HISTORY, PRUNER_STATES, shouldPrune } from './pruners';
import type { Study } from './study';
import type { Params, TrialHistory } from './types';

/** What an objective function sees of its trial. */
export interface Trial {
  readonly number: number;
  readonly params: Params;
  /** host:pid:random — who is running it, as the trial's row says. */
  readonly worker: string;
  /**
   * Records an intermediate value (an epoch's validation metric) with a heartbeat, and judges it
   * with the study's pruner; afterwards `shouldStop()` says whether to stop.
   */
  report(step: number, value: number): Promise<void>;
  /** Stop now: the pruner judged the trial losing, or it is no longer this worker's. */
  shouldStop(): boolean;
}

export function historyOf(row: TrialRow): TrialHistory {
  return {
    number: row.number,
    state: row.state,
    params: row.params === null ? {} : (JSON.parse(row.params) as Params),
    value: row.value,
    steps: row.steps === null ? [] : (JSON.parse(row.steps) as Array<[number, number]>),
  };
}

/**
 * A claimed trial: it heartbeats on a timer while the objective runs (so a trial that is slow
 * between reports is never taken from a live worker), records what the objective reports, and
 * learns when the trial is no longer its own (a write that names it changes no row).
 */
export class RunningTrial implements Trial {
  readonly steps: Array<[number, number]> = [];
  pruned = false;
  /** The trial was given to another worker (this one's heartbeat went stale): nothing more is written. */
  lost = false;
  #timer: NodeJS.Timeout;

  constructor(
    private readonly db: Db,
    private readonly study: Study,
    readonly row: TrialRow,
    readonly params: Params,
    readonly worker: string,
    heartbeatMs: number,
  ) {
    this.#timer = setInterval(() => void this.#beat(), heartbeatMs);
    this.#timer.unref();
  }

  get number(): number {
    return this.row.number;
  }

  async #beat(): Promise<void> {
    if (this.lost) return;
    // A database away for a moment is no reason to stop: the next beat tries again, and a trial
    // that went stale meanwhile is found lost by the next write.
    const mine = await heartbeatTrial(this.db, this.row.id, this.worker).catch(() => true);
    if (!mine) this.lost = true;
  }

  async report(step: number, value: number): Promise<void> {
    if (this.lost || !Number.isFinite(value)) return;
    this.steps.push([step, value]);
    if (!(await reportTrialSteps(this.db, this.row.id, this.worker, JSON.stringify(this.steps)))) {
      this.lost = true;
      return;
    }
    const { pruner, direction, startupTrials } = this.study.spec;
    if (pruner === 'none' || this.pruned) return;
    const others = (await recentTrials(this.db, this.study.id, PRUNER_STATES[pruner], PRUNER_HISTORY))
      .filter((t) => t.id !== this.row.id)
      .map(historyOf);
    this.pruned = shouldPrune(pruner, { steps: this.steps, direction, startupTrials, others });
  }

  shouldStop(): boolean {
    return this.pruned || this.lost;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
