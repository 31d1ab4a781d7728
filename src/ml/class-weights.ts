import { InvalidDataError } from '../errors';
import { canonicalLabel } from '../labels';
import type { ClassWeightChoice } from './recipe-options';

/**
 * The loss weight of each class, from the train rows' counts: `balanced` is sklearn's
 * n/(k·count); a {label: weight} object gives them by name (labels it leaves out weigh 1); `none`
 * is null. A class without train rows weighs 1 (no row ever asks for its weight).
 */
export function classWeights(choice: ClassWeightChoice, labels: string[], counts: number[]): Float64Array | null {
  if (choice === 'none') return null;
  if (choice === 'balanced') {
    const n = counts.reduce((a, b) => a + b, 0);
    const present = counts.filter((c) => c > 0).length;
    return Float64Array.from(counts, (c) => (c > 0 ? n / (present * c) : 1));
  }
  const index = new Map(labels.map((l, i) => [l, i]));
  const weights = new Float64Array(labels.length).fill(1);
  for (const [label, weight] of Object.entries(choice)) {
    const i = index.get(canonicalLabel(label));
    if (i === undefined)
      throw new InvalidDataError(
        `classWeight names label "${label}", which the training rows do not have`,
        `weigh only these labels: ${labels.slice(0, 10).join(', ')}${labels.length > 10 ? ', …' : ''}`,
        { field: 'classWeight' },
      );
    weights[i] = weight;
  }
  return weights;
}

/** max/min of the counts of the classes that have rows: 1 is balanced. */
export function imbalanceRatio(counts: readonly number[]): number {
  const present = counts.filter((c) => c > 0);
  return present.length ? Math.max(...present) / Math.min(...present) : 1;
}

/**
 * The training targets of a batch: one-hot rows, smoothed (1 − ε on the true class, ε/k on every
 * class, as Keras' label_smoothing) and scaled by the class's weight. Cross-entropy is linear in
 * its targets, so a scaled target is exactly the weighted loss (Keras' class_weight), on every
 * engine alike, with no change to the step.
 */
export function batchTargets(
  classes: ArrayLike<number>,
  k: number,
  smoothing: number,
  weights: Float64Array | null,
): Float32Array {
  const ys = new Float32Array(classes.length * k);
  for (let i = 0; i < classes.length; i++) {
    const c = classes[i];
    const w = weights ? weights[c] : 1;
    if (smoothing > 0) ys.fill((w * smoothing) / k, i * k, (i + 1) * k);
    ys[i * k + c] = w * (1 - smoothing + smoothing / k);
  }
  return ys;
}
