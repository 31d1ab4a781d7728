import { recomputeBatchNormStatistics, tfjsBatchNorm } from '../../src/ml/precise-bn';
import { mulberry32 } from '../../src/ml/seeded';
import { tf } from '../../src/ml/tf';
import { MemorySource } from '../../src/samples/sample-source';

const SHAPE = { height: 4, width: 4, channels: 1 };
const N = 10;
const BATCH = 4; // 4 + 4 + 2: an uneven last batch, which a plain average of batch statistics gets wrong

const random = mulberry32(7);
const PIXELS = Uint8Array.from({ length: N * 16 }, () => Math.floor(random() * 256));

function source(): MemorySource {
  const pixels = PIXELS;
  const ids = Array.from({ length: N }, (_, i) => i + 1);
  return new MemorySource(
    { pixels, ids, labels: ids.map(() => 'a'), hashes: ids.map(() => Buffer.alloc(32)), count: N },
    SHAPE,
  );
}

/** input → conv → BN → ReLU → conv → BN → dense: the second BN's input depends on the first's batch statistics. */
function model(): tf.LayersModel {
  const input = tf.input({ shape: [4, 4, 1] });
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  let x = tf.layers.conv2d({ filters: 3, kernelSize: 2, kernelInitializer: init(1), name: 'c1' }).apply(input);
  x = tf.layers.batchNormalization({ name: 'bn1' }).apply(x);
  x = tf.layers.reLU().apply(x);
  x = tf.layers.conv2d({ filters: 2, kernelSize: 2, kernelInitializer: init(2), name: 'c2' }).apply(x);
  x = tf.layers.batchNormalization({ name: 'bn2' }).apply(x);
  x = tf.layers.flatten().apply(x);
  const out = tf.layers.dense({ units: 2, kernelInitializer: init(3) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** Mean and biased variance per channel (last axis) of all values, in float64. */
function populationMoments(values: Float32Array, channels: number): { mean: number[]; variance: number[] } {
  const mean = Array(channels).fill(0);
  const sq = Array(channels).fill(0);
  const n = values.length / channels;
  values.forEach((v, i) => {
    mean[i % channels] += v / n;
  });
  values.forEach((v, i) => {
    sq[i % channels] += (v - mean[i % channels]) ** 2 / n;
  });
  return { mean, variance: sq };
}

function weight(m: tf.LayersModel, layer: string, name: string): number[] {
  const w = m.getLayer(layer).weights.find((v) => v.originalName.endsWith(name))!;
  return Array.from(w.read().dataSync());
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('precise batch-norm', () => {
  test('moving statistics become the population statistics of each BN input, batches combined exactly', async () => {
    const m = model();
    const src = source();
    const positions = Array.from({ length: N }, (_, i) => i);
    const conv2Before = weight(m, 'c2', 'kernel');

    // What training mode computes, by hand: conv1 → normalised by each batch's own statistics → ReLU → conv2.
    const xs = (from: number, to: number) =>
      tf.tensor(
        Array.from(PIXELS.subarray(from * 16, to * 16), (v) => v / 255),
        [to - from, 4, 4, 1],
      );
    const c1 = m.getLayer('c1');
    const c2 = m.getLayer('c2');
    const conv1All: number[] = [];
    const conv2All: number[] = [];
    for (let from = 0; from < N; from += BATCH) {
      const to = Math.min(N, from + BATCH);
      tf.tidy(() => {
        const a = c1.apply(xs(from, to)) as tf.Tensor;
        conv1All.push(...a.dataSync());
        const { mean, variance } = tf.moments(a, [0, 1, 2]);
        const normed = a.sub(mean).div(variance.add(1e-3).sqrt()).relu(); // gamma 1, beta 0, epsilon 1e-3
        conv2All.push(...(c2.apply(normed) as tf.Tensor).dataSync());
      });
    }

    const result = await recomputeBatchNormStatistics(tfjsBatchNorm(m), src, positions, BATCH);
    expect(result).toEqual({ layers: 2, samples: N });
    for (const [layer, values, channels] of [
      ['bn1', conv1All, 3],
      ['bn2', conv2All, 2],
    ] as const) {
      const expected = populationMoments(Float32Array.from(values), channels);
      const mean = weight(m, layer, 'moving_mean');
      const variance = weight(m, layer, 'moving_variance');
      mean.forEach((v, c) => expect(v).toBeCloseTo(expected.mean[c], 4));
      variance.forEach((v, c) => expect(v).toBeCloseTo(expected.variance[c], 4));
    }
    expect(weight(m, 'c2', 'kernel')).toEqual(conv2Before); // only the statistics change
  });

  test('a model without batch-norm is left alone', async () => {
    const input = tf.input({ shape: [4, 4, 1] });
    const out = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
    const result = await recomputeBatchNormStatistics(
      tfjsBatchNorm(tf.model({ inputs: input, outputs: out })),
      source(),
      [0, 1],
      2,
    );
    expect(result).toEqual({ layers: 0, samples: 0 });
  });
});
