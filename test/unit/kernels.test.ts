import { tf } from '../../src/ml/tf';

import '@tensorflow/tfjs-backend-wasm';
import { patchWasmKernels } from '../../src/ml/backend';

/**
 * Every supplied wasm kernel against the cpu backend's reference, through the public gradient
 * path (tf.grads), on random shapes, strides and paddings.
 */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function maxRelError(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-12);
}

interface Case {
  kind: 'conv' | 'depthwise';
  x: number[];
  k: number[];
  stride: number;
  pad: 'same' | 'valid';
}

function cases(): Case[] {
  const r = rng(42);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const out: Case[] = [];
  for (let i = 0; i < 24; i++) {
    const kind = i % 2 === 0 ? 'conv' : 'depthwise';
    const h = 4 + Math.floor(r() * 9);
    const w = 4 + Math.floor(r() * 9);
    const c = 1 + Math.floor(r() * 4);
    const kh = pick([1, 2, 3, 5]);
    const kw = pick([1, 2, 3]);
    const stride = pick([1, 2, 3]);
    const pad = pick(['same', 'valid'] as const);
    if (pad === 'valid' && (kh > h || kw > w)) continue;
    const outC = kind === 'conv' ? 1 + Math.floor(r() * 5) : pick([1, 2]);
    out.push({ kind, x: [1 + Math.floor(r() * 3), h, w, c], k: [kh, kw, c, outC], stride, pad });
  }
  return out;
}

async function gradsOn(backend: string, c: Case, xv: Float32Array, kv: Float32Array) {
  expect(await tf.setBackend(backend)).toBe(true);
  expect(tf.getBackend()).toBe(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(xv, c.x as [number, number, number, number]);
    const k = tf.tensor4d(kv, c.k as [number, number, number, number]);
    const f = (a: tf.Tensor4D, b: tf.Tensor4D) => {
      const y = c.kind === 'conv' ? tf.conv2d(a, b, c.stride, c.pad) : tf.depthwiseConv2d(a, b, c.stride, c.pad);
      return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
    };
    const [dx, dk] = tf.grads(f)([x, k]);
    return [dx.dataSync() as Float32Array, dk.dataSync() as Float32Array];
  });
}

describe('wasm gradient kernels match the cpu backend', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    patchWasmKernels();
  });

  test.each(cases().map((c) => [`${c.kind} x${c.x.join('x')} k${c.k.join('x')} s${c.stride} ${c.pad}`, c]))(
    '%s',
    async (_name, c) => {
      const r = rng(7);
      const xv = Float32Array.from({ length: c.x.reduce((a, b) => a * b) }, () => r() * 2 - 1);
      const kv = Float32Array.from({ length: c.k.reduce((a, b) => a * b) }, () => r() * 2 - 1);
      const [cpuDx, cpuDk] = await gradsOn('cpu', c, xv, kv);
      const [wasmDx, wasmDk] = await gradsOn('wasm', c, xv, kv);
      expect(maxRelError(wasmDx, cpuDx)).toBeLessThanOrEqual(1e-5);
      expect(maxRelError(wasmDk, cpuDk)).toBeLessThanOrEqual(1e-5);
    },
  );

  test.each([
    [3, 2, 'same', [2, 7, 7, 3]],
    [3, 2, 'valid', [3, 9, 8, 2]],
    [2, 2, 'valid', [2, 6, 6, 4]],
    [3, 1, 'same', [1, 5, 6, 2]],
  ] as const)('max-pool gradient, window %i stride %i %s over %j', async (size, stride, pad, shape) => {
    const r = rng(11);
    const xv = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
    const grad = async (backend: string) => {
      expect(await tf.setBackend(backend)).toBe(true);
      return tf.tidy(() => {
        const f = (x: tf.Tensor4D) => {
          const y = tf.maxPool(x, size, stride, pad);
          return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
        };
        return tf
          .grad(f)(tf.tensor4d(xv, [...shape]))
          .dataSync() as Float32Array;
      });
    };
    expect(maxRelError(await grad('wasm'), await grad('cpu'))).toBeLessThanOrEqual(1e-6);
  });

  test('a kernel wasm lacks entirely falls back to cpu (UnsortedSegmentSum)', async () => {
    await tf.setBackend('wasm');
    const out = tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4]), tf.tensor1d([0, 1, 0, 1], 'int32'), 2);
    expect(Array.from(out.dataSync())).toEqual([4, 6]);
    out.dispose();
  });

  test('the supplied kernels leak no tensors', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const bytesBefore = tf.memory().numBytes;
    for (let i = 0; i < 3; i++) {
      tf.tidy(() => {
        const x = tf.randomNormal([2, 9, 9, 3]) as tf.Tensor4D;
        const k = tf.randomNormal([3, 3, 3, 4]) as tf.Tensor4D;
        tf.grads((a: tf.Tensor4D, b: tf.Tensor4D) => tf.sum(tf.conv2d(a, b, 2, 'same')))([x, k]);
      });
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.memory().numBytes).toBe(bytesBefore);
  });
});
