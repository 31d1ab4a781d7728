import type { Db } from '../db/db';
import { planFreeze, setFrozen, type FreezePlan } from './freeze';
import { initializeFrom, type InitFromSummary } from './init-from';
import type { tf } from './tf';
import type { Hyperparameters } from './training-options';

/** Where a run's model starts: a trained model's weights, layers kept fixed. Null: from scratch, all trainable. */
export interface StartSummary {
  initFrom: InitFromSummary | null;
  freeze: FreezePlan | null;
}

/**
 * Applies --init-from and --freeze to a freshly built model, before any engine opens and before
 * the run is recorded: a bad reference, a layer that cannot take its weights or an unknown layer
 * leave no run row behind.
 */
export async function prepareStart(
  db: Db,
  model: tf.LayersModel,
  labels: readonly string[],
  hp: Hyperparameters,
): Promise<StartSummary | null> {
  const freeze = planFreeze(model, hp.freeze, hp.unfreezeAt);
  const initFrom = hp.initFrom === undefined ? null : await initializeFrom(db, model, labels, hp.initFrom);
  if (freeze) setFrozen(model, freeze, true);
  return initFrom || freeze ? { initFrom, freeze } : null;
}

/**
 * What the run record keeps of the start, beside the options as given: what `initFrom` resolved
 * to (a name alone means the newest version, which changes), what was copied and rebuilt, which
 * layers were frozen. Only present when the run did not start from scratch.
 */
export function recordedStart(start: StartSummary | null | undefined): Record<string, unknown> {
  if (!start) return {};
  const i = start.initFrom;
  return {
    ...(i && { initModel: i.model, layersCopied: i.copied, headRebuilt: i.headRebuilt }),
    ...(start.freeze && { frozenLayers: start.freeze.layers }),
  };
}
