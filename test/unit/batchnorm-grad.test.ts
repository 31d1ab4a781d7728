import { tf } from '../../src/ml/tf';
import { installBatchNormGradient } from '../../src/ml/kernels/batchnorm-grad';

/** Gradients of Σ w·BN(x) with respect to every input of the batch norm, on the cpu backend. */
function bnGrads(shape: number[], seed: number): number[][] {
  return tf.tidy(() => {
    const c = shape[shape.length - 1];
    const x = tf.randomNormal(shape, 0, 2, 'float32', seed);
    const w = tf.randomNormal(shape, 0, 1, 'float32', seed + 1);
    const axes = [...Array(shape.length - 1).keys()];
    const { mean, variance } = tf.moments(x, axes);
    const scale = tf.randomUniform([c], 0.5, 1.5, 'float32', seed + 2);
    const offset = tf.randomNormal([c], 0, 1, 'float32', seed + 3);
    const f = (xx: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
      tf.sum(tf.mul(w, tf.batchNorm(xx, m as tf.Tensor1D, v as tf.Tensor1D, o as tf.Tensor1D, s as tf.Tensor1D, 1e-3)));
    return tf
      .grads(f)([x, mean, variance, scale, offset])
      .map((g) => Array.from(g.dataSync()));
  });
}

test('the broadcasting batch-norm gradient equals tfjs’s own on random 4-D and 2-D shapes', async () => {
  await tf.setBackend('cpu');
  const shapes = [
    [4, 5, 5, 3],
    [2, 7, 3, 8],
    [16, 6],
    [1, 1, 1, 4],
  ];
  const kernels = async () => (await tf.profile(() => void bnGrads([4, 5, 5, 3], 1))).kernelNames;
  const before = shapes.map((s, i) => bnGrads(s, 10 + i));
  expect(await kernels()).toContain('Tile'); // tfjs's own gradient
  installBatchNormGradient();
  const after = shapes.map((s, i) => bnGrads(s, 10 + i));
  expect(await kernels()).not.toContain('Tile'); // ours is the one in use
  shapes.forEach((_, i) =>
    before[i].forEach((g, k) =>
      g.forEach((v, j) => {
        const err = Math.abs(after[i][k][j] - v) / Math.max(1, Math.abs(v));
        expect(err).toBeLessThanOrEqual(1e-5);
      }),
    ),
  );
});
