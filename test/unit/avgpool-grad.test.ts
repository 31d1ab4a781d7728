import { tf } from '../../src/ml/tf';
import { installAvgPoolGradient } from '../../src/ml/kernels/avgpool-grad';

/**
 * d/dx Σ w·avgPool(x), written out: each output spreads its weight over the values of its window
 * that lie inside the image, divided by how many they are (the count the forward pass divides by).
 */
function expectedGradient(h: number, wd: number, size: number, stride: number, weights: Float32Array): Float32Array {
  const oh = Math.ceil(h / stride);
  const ow = Math.ceil(wd / stride);
  const top = Math.floor(Math.max((oh - 1) * stride + size - h, 0) / 2);
  const left = Math.floor(Math.max((ow - 1) * stride + size - wd, 0) / 2);
  const dx = new Float32Array(h * wd);
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++) {
      const rows = [];
      for (let y = oy * stride - top; y < oy * stride - top + size; y++) if (y >= 0 && y < h) rows.push(y);
      const cols = [];
      for (let x = ox * stride - left; x < ox * stride - left + size; x++) if (x >= 0 && x < wd) cols.push(x);
      for (const y of rows) for (const x of cols) dx[y * wd + x] += weights[oy * ow + ox] / (rows.length * cols.length);
    }
  return dx;
}

test.each([
  [5, 5, 2, 2],
  [7, 6, 3, 2],
  [3, 3, 2, 2],
  [6, 6, 2, 2],
])(
  'average-pool gradient over %i×%i, window %i stride %i ("same"): the forward pass’ own counts',
  async (h, w, size, stride) => {
    await tf.setBackend('cpu');
    installAvgPoolGradient();
    const x = tf.randomNormal([1, h, w, 1], 0, 1, 'float32', 3);
    const oh = Math.ceil(h / stride);
    const ow = Math.ceil(w / stride);
    const weights = Float32Array.from({ length: oh * ow }, (_, i) => Math.sin(i + 1));
    const wt = tf.tensor4d(weights, [1, oh, ow, 1]);
    const got = tf.grad((v: tf.Tensor4D) => tf.sum(tf.mul(tf.avgPool(v, size, stride, 'same'), wt)))(x as tf.Tensor4D);
    const expected = expectedGradient(h, w, size, stride, weights);
    const actual = got.dataSync();
    for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i], 6);
    tf.dispose([x, wt, got]);
  },
);
