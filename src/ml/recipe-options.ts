import { z } from 'zod';
import { UsageError } from '../errors';
import { ADAMW_WEIGHT_DECAY, type OptimizerName } from './optimizer-names';

/**
 * The values and cross-checks of the training options for modern recipes (schedule, warm-up,
 * decoupled decay, smoothing), class imbalance and row subsets; their entries are in
 * training-options.ts's table like every other option.
 */

/**
 * constant: the rate as given; cosine: annealed to 0 (torch's CosineAnnealingLR); onecycle:
 * torch's OneCycleLR, its momentum cycled too.
 */
export const LR_SCHEDULES = ['constant', 'cosine', 'onecycle'] as const;
export type LrScheduleName = (typeof LR_SCHEDULES)[number];

/** shuffle: every row once per epoch, in a seeded order; balanced: each batch drawn evenly over the labels. */
export const SAMPLERS = ['shuffle', 'balanced'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** balanced (n/(k·count), as sklearn's), none, or a weight per label (read from a JSON file by the CLI). */
export const CLASS_WEIGHT_SCHEMA = z.union(
  [z.enum(['balanced', 'none']), z.record(z.string().min(1), z.number().positive().max(1e6))],
  { error: 'must be balanced, none, or a JSON object of positive weights by label' },
);
export type ClassWeightChoice = z.infer<typeof CLASS_WEIGHT_SCHEMA>;

/** The decay when none is given: AdamW's default for adamw, none for the others (they have no decoupled decay). */
export function weightDecayFor(optimizer: OptimizerName): number {
  return optimizer === 'adamw' ? ADAMW_WEIGHT_DECAY : 0;
}

/** What one option's range cannot say: how the recipe's options go together. */
export function checkRecipe(
  hp: { optimizer: OptimizerName; epochs: number; warmupEpochs: number; weightDecay?: number },
  given: { weightDecay?: number },
): void {
  if (given.weightDecay !== undefined && given.weightDecay > 0 && hp.optimizer !== 'adamw')
    throw new UsageError(
      `weightDecay is the decoupled decay of optimizer adamw; optimizer ${hp.optimizer} has none`,
      'add --optimizer adamw, or drop --weight-decay',
      { field: 'weightDecay' },
    );
  if (hp.warmupEpochs >= hp.epochs && hp.warmupEpochs > 0)
    throw new UsageError(
      `warmupEpochs must be below the number of epochs (${hp.epochs}), got ${hp.warmupEpochs}`,
      'warm up for fewer epochs, or train for more',
      { field: 'warmupEpochs' },
    );
}
