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
  return model.layers
    .filter((l) => l.getClassName() === 'BatchNormalization')
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

/**
 * Recomputes every BN layer's moving mean and variance over the rows at `positions` of `source`
 * (the caller's fixed, seeded sample), `batchSize` rows per forward pass. The model's other weights
 * are untouched.
 */
export async function recomputeBatchNormStatistics(
  model: tf.LayersModel,
  source: SampleSource,
  positions: ArrayLike<number>,
  batchSize: number,
): Promise<PreciseBnResult> {
  const layers = batchNormLayers(model);
  if (layers.length === 0 || positions.length === 0) return { layers: 0, samples: 0 };
  // One model from the input to every BN layer's input: one forward pass yields them all.
  const probe = tf.model({ inputs: model.inputs, outputs: layers.map((l) => l.layer.input as tf.SymbolicTensor) });
  const moments: Moments[] = layers.map((l) => {
    const channels = Number(l.movingMean.shape[0]);
    return { n: 0, mean: new Float64Array(channels), m2: new Float64Array(channels) };
  });
  const inputShape = model.inputs[0].shape.slice(1) as number[];
  let samples = 0;
  await withDropoutHeld(async () => {
    for await (const batch of source.batches(positions, batchSize)) {
      const n = batch.positions.length;
      const stats = tf.tidy(() => {
        const x = tf.tensor(batch.xs, [n, ...inputShape]);
        const outs = probe.apply(x, { training: true }) as tf.Tensor | tf.Tensor[];
        return (Array.isArray(outs) ? outs : [outs]).map((out) => {
          const { mean, variance } = tf.moments(out, [...Array(out.rank - 1).keys()]);
          return [mean, variance, out.size / out.shape[out.rank - 1]!] as const;
        });
      });
      for (const [k, [mean, variance, count]] of stats.entries()) {
        combine(moments[k], count, (await mean.data()) as Float32Array, (await variance.data()) as Float32Array);
        tf.dispose([mean, variance]);
      }
      samples += n;
    }
  });
  // Training mode also moved the layers' moving averages: they are replaced here either way.
  layers.forEach((l, k) => {
    const m = moments[k];
    tf.tidy(() => {
      l.movingMean.write(tf.tensor1d(Float32Array.from(m.mean)));
      l.movingVariance.write(tf.tensor1d(Float32Array.from(m.m2, (v) => v / m.n)));
    });
  });
  return { layers: layers.length, samples };
}
