import type { Db } from '../db/db';
import type { TrainingCallback } from './callbacks';
import { planFreeze, setFrozen, type FreezePlan, type ReleasableEngine } from './freeze';
import { initializeFrom, type InitFromSummary } from './init-from';
import type { tf } from './tf';
import { UNFREEZE_LR_SCALE, type Hyperparameters } from './training-options';

/** Where a run's model starts: a trained model's weights, layers kept fixed. Null: from scratch, all trainable. */
export interface StartSummary {
  initFrom: InitFromSummary | null;
  freeze: FreezePlan | null;
}

/** A start checked before the run is recorded, and how to give it to the network that trains. */
export interface PreparedStart {
  summary: StartSummary;
  /** Copies the weights (from what the reference resolved to, not a newer version) and freezes. */
  apply(model: tf.LayersModel): Promise<void>;
}

/**
 * Applies --init-from and --freeze to a freshly built model: copies the weights, freezes the
 * layers, and says what it did.
 */
export async function startModel(
  db: Db,
  model: tf.LayersModel,
  labels: readonly string[],
  hp: Pick<Hyperparameters, 'initFrom' | 'freeze' | 'unfreezeAt'>,
): Promise<StartSummary | null> {
  const freeze = planFreeze(model, hp.freeze, hp.unfreezeAt);
  const initFrom = hp.initFrom === undefined ? null : await initializeFrom(db, model, labels, hp.initFrom);
  if (freeze) setFrozen(model, freeze, true);
  return initFrom || freeze ? { initFrom, freeze } : null;
}

/**
 * Checks the start on a model built for the purpose and thrown away, before the run is recorded:
 * a bad reference, a layer that cannot take its weights or an unknown layer leave no run row
 * behind (the network that trains is built later, by fitModel). Null when the run starts from scratch.
 */
export async function checkStart(
  db: Db,
  build: () => tf.LayersModel,
  labels: readonly string[],
  hp: Hyperparameters,
): Promise<PreparedStart | null> {
  if (hp.initFrom === undefined && hp.freeze === undefined && hp.unfreezeAt === undefined) return null;
  const probe = build();
  let summary: StartSummary | null;
  try {
    summary = await startModel(db, probe, labels, hp);
  } finally {
    probe.dispose();
  }
  if (!summary) return null;
  const resolved = summary.initFrom?.model;
  const start = summary;
  return {
    summary,
    async apply(model) {
      if (resolved !== undefined) await initializeFrom(db, model, labels, resolved);
      if (start.freeze) setFrozen(model, start.freeze, true);
    },
  };
}

/**
 * --unfreeze-at as a training rule: at the end of the epoch before EPOCH, the frozen layers are
 * released (the engine reopened, the optimizer fresh) and the learning rate scaled. Last among the
 * callbacks, so that it scales the rate the others (reduce-on-plateau) left.
 */
export function unfreezeRule(
  engine: ReleasableEngine,
  model: tf.LayersModel,
  plan: FreezePlan,
  epochs: number,
): TrainingCallback {
  return {
    async onEpochEnd(epoch, control) {
      if (plan.unfreezeAt === null || epoch.epoch !== plan.unfreezeAt - 1 || epoch.epoch >= epochs) return;
      control.setLearningRate(await engine.release(model, plan, control.learningRate, UNFREEZE_LR_SCALE));
    },
  };
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
