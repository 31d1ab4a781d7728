import type { SampleSource } from '../samples/sample-source';
import { withDropoutHeld } from './architectures/layers';
import { tf } from './tf';

/**
 * Precise batch-norm (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021; fvcore's
 * update_bn_stats): a BN layer's moving mean and variance are an exponential average with momentum
 * 0.99, so after the ~90 updates of a first epoch on 6,000 images they have moved only 60% of the
 * way from their initial 0 and 1 — and evaluation, which uses them, is at chance although training
 * went well. Instead, before each evaluation the statistics are recomputed as population
 * statistics: a forward pass in training mode (each BN normalising by its batch, as in training)
 * over a fixed sample of training rows, each BN layer's input reduced per channel, batches combined
 * exactly (Chan et al.'s parallel mean/variance in float64) — not another moving average.
 * Dropout is held during that pass (as at inference): it would shift the training's sequence of
 * masks, and it inflates the variance later layers see, which evaluation never does (Li et al.,
 * "Understanding the disharmony between dropout and batch normalization", 2019).
 */

/** A BN layer and where its statistics live. */
interface BnLayer {
  layer: tf.layers.Layer;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/** Per channel: rows seen, mean, and sum of squared deviations (M2), in float64. */
interface Moments {
  n: number;
  mean: Float64Array;
  m2: Float64Array;
}

function batchNormLayers(model: tf.LayersModel): BnLayer[] {
  // A frozen layer keeps the statistics it was trained with (ml/freeze.ts).
  return model.layers
    .filter((l) => l.getClassName() === 'BatchNormalization' && l.trainable)
    .map((layer) => {
      const find = (suffix: string) => layer.weights.find((w) => w.originalName.endsWith(suffix));
      const movingMean = find('moving_mean');
      const movingVariance = find('moving_variance');
      const axis = (layer.getConfig() as { axis?: number }).axis ?? -1;
      const rank = (layer.input as tf.SymbolicTensor).shape.length;
      if (!movingMean || !movingVariance || (axis !== -1 && axis !== rank - 1)) {
        throw new Error(`batch-norm layer ${layer.name}: expected moving statistics over the last axis`);
      }
      return { layer, movingMean, movingVariance };
    });
}

/** Folds one batch's per-channel mean and (biased) variance over `count` values into `acc`. */
function combine(acc: Moments, count: number, mean: Float32Array, variance: Float32Array): void {
  const total = acc.n + count;
  for (let c = 0; c < mean.length; c++) {
    const delta = mean[c] - acc.mean[c];
    acc.mean[c] += (delta * count) / total;
    acc.m2[c] += variance[c] * count + (delta * delta * acc.n * count) / total;
  }
  acc.n = total;
}

export interface PreciseBnResult {
  /** BN layers updated (0: the model has none, nothing was done). */
  layers: number;
  /** Training rows the statistics were computed over. */
  samples: number;
}

/** One BN layer's input over one batch: per-channel mean and biased variance over `count` values each. */
export interface BatchMoments {
  mean: Float32Array;
  variance: Float32Array;
  count: number;
}

/** What precise batch-norm needs of an engine: every BN layer's input moments, and a way to set the statistics. */
export interface BatchNormTarget {
  /** BN layers, in the model's order. */
  readonly layers: number;
  /** A forward pass in training mode with dropout held; per BN layer, its input's batch moments. */
  moments(xs: Float32Array, n: number): Promise<BatchMoments[]>;
  /** Replaces every BN layer's moving mean and variance (same order). */
  write(statistics: Array<{ mean: Float32Array; variance: Float32Array }>): void;
}

/**
 * Recomputes every BN layer's moving mean and variance over the rows at `positions` of `source`
 * (the caller's fixed, seeded sample), `batchSize` rows per forward pass. The model's other weights
 * are untouched.
 */
export async function recomputeBatchNormStatistics(
  target: BatchNormTarget,
  source: SampleSource,
  positions: ArrayLike<number>,
  batchSize: number,
): Promise<PreciseBnResult> {
  if (target.layers === 0 || positions.length === 0) return { layers: 0, samples: 0 };
  let moments: Moments[] | undefined;
  let samples = 0;
  for await (const batch of source.batches(positions, batchSize)) {
    const n = batch.positions.length;
    const stats = await target.moments(batch.xs, n);
    moments ??= stats.map((s) => ({
      n: 0,
      mean: new Float64Array(s.mean.length),
      m2: new Float64Array(s.mean.length),
    }));
    stats.forEach((s, k) => combine(moments![k], s.count, s.mean, s.variance));
    samples += n;
  }
  target.write(
    moments!.map((m) => ({ mean: Float32Array.from(m.mean), variance: Float32Array.from(m.m2, (v) => v / m.n) })),
  );
  return { layers: target.layers, samples };
}

/** The tfjs side: one model from the input to every BN layer's input, so one forward pass yields them all. */
export function tfjsBatchNorm(model: tf.LayersModel): BatchNormTarget {
  const layers = batchNormLayers(model);
  const probe =
    layers.length > 0
      ? tf.model({ inputs: model.inputs, outputs: layers.map((l) => l.layer.input as tf.SymbolicTensor) })
      : null;
  const inputShape = model.inputs[0].shape.slice(1) as number[];
  return {
    layers: layers.length,
    moments: (xs, n) =>
      withDropoutHeld(async () => {
        const stats = tf.tidy(() => {
          const outs = probe!.apply(tf.tensor(xs, [n, ...inputShape]), { training: true }) as tf.Tensor | tf.Tensor[];
          return (Array.isArray(outs) ? outs : [outs]).map((out) => {
            const { mean, variance } = tf.moments(out, [...Array(out.rank - 1).keys()]);
            return [mean, variance, out.size / out.shape[out.rank - 1]!] as const;
          });
        });
        const result: BatchMoments[] = [];
        for (const [mean, variance, count] of stats) {
          result.push({
            mean: (await mean.data()) as Float32Array,
            variance: (await variance.data()) as Float32Array,
            count,
          });
          tf.dispose([mean, variance]);
        }
        return result;
      }),
    // Training mode also moved the layers' moving averages: they are replaced here either way.
    write: (statistics) =>
      layers.forEach((l, k) =>
        tf.tidy(() => {
          l.movingMean.write(tf.tensor1d(statistics[k].mean));
          l.movingVariance.write(tf.tensor1d(statistics[k].variance));
        }),
      ),
  };
}
