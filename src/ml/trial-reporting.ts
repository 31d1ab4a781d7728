import type { EpochRow } from '../db/run-types';
import type { Trial } from '../study/trial';
import type { TrainingCallback, TrainingControl } from './callbacks';
import type { ObjectiveName } from './search-settings';

/** An epoch's value of a study's objective: its validation metric. */
export function epochValue(epoch: EpochRow, objective: ObjectiveName): number | null {
  return objective === 'val_loss' ? epoch.valLoss : epoch.valAccuracy;
}

/**
 * Training as a study's objective: each epoch's validation metric is reported to the trial (with
 * a heartbeat), and training stops after the epoch when the pruner judges the trial losing or the
 * trial is no longer this worker's.
 */
export class TrialReporting implements TrainingCallback {
  constructor(
    readonly trial: Trial,
    readonly objective: ObjectiveName,
  ) {}

  async onEpochEnd(epoch: EpochRow, control: TrainingControl): Promise<void> {
    const value = epochValue(epoch, this.objective);
    if (value !== null) await this.trial.report(epoch.epoch, value);
    if (this.trial.shouldStop()) control.stopEarly();
  }
}
