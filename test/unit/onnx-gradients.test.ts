import * as ort from 'onnxruntime-node';
import { dropout, withDropoutHeld } from '../../src/ml/architectures/layers';
import { Seeds } from '../../src/ml/architectures/types';
import { selectBackend } from '../../src/ml/backend';
import { nchwcBlockSize } from '../../src/ml/engines/nchwc-probe';
import { setFrozen } from '../../src/ml/freeze';
import { LAYER_OPS, type LayerOps } from '../../src/ml/onnx/layer-ops';
import { computeGradients } from '../../src/ml/parallel/replica';
import { tf } from '../../src/ml/tf';
import { onnxSteps, relativeDifference } from '../helpers/onnx-step';

/**
 * Every layer type's gradient entry, one at a time (as PyTorch tests derivatives.yaml): a small
 * model around the layer — a convolution before it, so that its input needs a gradient, and a
 * softmax dense layer after — whose loss and weight gradients on onnxruntime must match tfjs' cpu
 * backend (its reference kernels) within 1e-4 of each weight's gradient norm, on random inputs,
 * with plain convolutions and with the channel-blocked ones (16 channels, a batch of 16). Each
 * planted 1% mistake below fails it.
 */
const TOLERANCE = 1e-4;

type Sym = tf.SymbolicTensor;
let seed = 1;
const init = () => tf.initializers.glorotUniform({ seed: seed++ });
const conv =
  (filters: number, kernelSize: number, more: Record<string, unknown> = {}) =>
  (x: Sym) =>
    tf.layers.conv2d({ filters, kernelSize, padding: 'same', kernelInitializer: init(), ...more }).apply(x) as Sym;

interface Case {
  name: string;
  size: number;
  /** The layers under test, after a 3×3 convolution of `channels` filters. */
  build: (x: Sym) => Sym;
  /** Layers frozen (ml/freeze.ts) once the model is built. */
  frozen?: string[];
}

const CASES: Case[] = [
  { name: 'conv 3×3 same', size: 7, build: conv(16, 3) },
  { name: 'conv 5×5 valid, no bias', size: 9, build: conv(16, 5, { padding: 'valid', useBias: false }) },
  { name: 'conv 3×3 stride 2 same (odd size)', size: 7, build: conv(16, 3, { strides: 2 }) },
  { name: 'conv 3×3 stride 2 valid', size: 8, build: conv(16, 3, { strides: 2, padding: 'valid' }) },
  { name: 'conv 1×1 stride 2', size: 7, build: conv(32, 1, { strides: 2 }) },
  // Blocked, a strided input gradient runs by phases of dx on maps of whole strides (even sizes),
  // else as dy spread out by zeros, convolved at stride 1 (conv.ts).
  { name: 'conv 5×5 stride 2 same', size: 9, build: conv(16, 5, { strides: 2 }) },
  // dy of 16 channels is spread out at any size (4,096 values per image here).
  { name: 'conv 3×3 stride 2 same, a larger map', size: 32, build: conv(16, 3, { strides: 2 }) },
  {
    name: 'conv 2×2 stride 3 valid (rows the forward pass never reads)',
    size: 8,
    build: conv(16, 2, { strides: 3, padding: 'valid' }),
  },
  { name: 'conv with ReLU', size: 6, build: conv(16, 3, { activation: 'relu' }) },
  // Blocked, its kernel, bias and dy are padded with zero channels up to a block.
  { name: 'conv 3×3, filters short of a block', size: 6, build: conv(10, 3) },
  {
    name: 'conv with an L2 penalty',
    size: 6,
    build: conv(16, 3, { kernelRegularizer: tf.regularizers.l2({ l2: 0.01 }) }),
  },
  {
    name: 'separable conv 3×3',
    size: 7,
    build: (x) =>
      tf.layers
        .separableConv2d({
          filters: 32,
          kernelSize: 3,
          padding: 'same',
          depthwiseInitializer: init(),
          pointwiseInitializer: init(),
        })
        .apply(x) as Sym,
  },
  {
    name: 'separable conv, depth multiplier 2, L2 penalties',
    size: 6,
    build: (x) =>
      tf.layers
        .separableConv2d({
          filters: 16,
          kernelSize: 3,
          padding: 'same',
          depthMultiplier: 2,
          useBias: false,
          depthwiseInitializer: init(),
          pointwiseInitializer: init(),
          depthwiseRegularizer: tf.regularizers.l2({ l2: 0.01 }),
          pointwiseRegularizer: tf.regularizers.l2({ l2: 0.01 }),
        })
        .apply(x) as Sym,
  },
  { name: 'batch-norm', size: 6, build: (x) => tf.layers.batchNormalization().apply(x) as Sym },
  {
    // Something before it trains: its input gradient by the stored statistics, none for its weights.
    name: 'batch-norm, frozen',
    size: 6,
    frozen: ['frozen_bn'],
    build: (x) =>
      tf.layers
        .batchNormalization({
          name: 'frozen_bn',
          gammaInitializer: tf.initializers.constant({ value: 1.5 }),
          movingMeanInitializer: tf.initializers.constant({ value: 0.3 }),
          movingVarianceInitializer: tf.initializers.constant({ value: 2 }),
        })
        .apply(x) as Sym,
  },
  { name: 'ReLU layer', size: 6, build: (x) => tf.layers.reLU().apply(x) as Sym },
  {
    name: 'average pool 2×2 same (odd size)',
    size: 7,
    build: (x) => tf.layers.averagePooling2d({ poolSize: 2, padding: 'same' }).apply(x) as Sym,
  },
  {
    name: 'average pool 2×2 valid (odd size)',
    size: 7,
    build: (x) => tf.layers.averagePooling2d({ poolSize: 2 }).apply(x) as Sym,
  },
  {
    name: 'average pool 3×3 stride 2 same',
    size: 8,
    build: (x) => tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as Sym,
  },
  {
    name: 'batch-norm then max pool 3×3 stride 2 same',
    size: 7,
    build: (x) =>
      tf.layers
        .maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' })
        .apply(tf.layers.batchNormalization().apply(x)) as Sym,
  },
  { name: 'max pool 2×2', size: 6, build: (x) => tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as Sym },
  {
    name: 'residual add with a 1×1 projection',
    size: 6,
    build: (x) => tf.layers.add().apply([conv(16, 3)(x), conv(16, 1)(x)]) as Sym,
  },
  {
    name: 'global average pool, dense ReLU',
    size: 6,
    build: (x) =>
      tf.layers
        .dense({ units: 12, activation: 'relu', kernelInitializer: init() })
        .apply(tf.layers.globalAveragePooling2d({}).apply(x)) as Sym,
  },
  { name: 'dropout (held)', size: 6, build: (x) => dropout(tf, new Seeds(3), x, 0.5, 'dropout') },
];

function model(c: Case, channels: number): tf.LayersModel {
  seed = 1;
  const input = tf.input({ shape: [c.size, c.size, 2] });
  let x = c.build(conv(channels, 3)(input));
  if (x.shape.length === 4) x = tf.layers.flatten().apply(x) as Sym;
  const out = tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: init() }).apply(x) as Sym;
  const m = tf.model({ inputs: input, outputs: out });
  if (c.frozen) setFrozen(m, { layers: c.frozen, unfreezeAt: null }, true);
  return m;
}

function randomBatch(c: Case, n: number) {
  let s = 7;
  const random = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const xs = Float32Array.from({ length: n * c.size * c.size * 2 }, random);
  const ys = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) ys[i * 4 + (i % 4)] = 1;
  return { xs, ys };
}

async function gap(c: Case, blocked: boolean, ops?: LayerOps) {
  const n = blocked ? 16 : 5;
  const m = model(c, blocked ? 16 : 3);
  try {
    const batch = randomBatch(c, n);
    // Blocked, the graph's batch is fixed too, as a run's full batches are (depthwise kernel gradients by plane).
    const kernels = { nchwcBlock: blocked ? block : 0, batchAligned: blocked, batch: blocked ? n : undefined };
    const got = await onnxSteps(m, batch, n, { kernels, ops });
    const expected = await withDropoutHeld(async () => computeGradients(m, batch.xs, batch.ys, n));
    const gradients = new Map(m.trainableWeights.map((w, i) => [w.name, expected.grads[i]]));
    return {
      loss: Math.abs(got.loss - expected.loss) / expected.loss,
      ...relativeDifference(got.gradients, gradients),
    };
  } finally {
    m.dispose();
  }
}

/** The layer table with `cls`'s weight gradient `key`, or its input gradient, scaled by 1.01. */
function plantedError(cls: string, key: string | 'input'): LayerOps {
  const entry = LAYER_OPS[cls];
  const off = (ctx: Parameters<NonNullable<typeof entry.backward>>[0], v: string) =>
    ctx.g.node('Mul', [v, ctx.g.scalar(1.01)]);
  return {
    ...LAYER_OPS,
    [cls]: {
      ...entry,
      backward: (ctx, dy) => {
        const inputs = entry.backward!(
          { ...ctx, gradient: (k, v) => ctx.gradient(k, k === key ? off(ctx, v) : v) },
          dy,
        );
        return key === 'input' ? inputs.map((v) => v && off(ctx, v)) : inputs;
      },
    },
  };
}

let block = 0;
beforeAll(async () => {
  expect((await selectBackend('cpu')).name).toBe('cpu');
  block = await nchwcBlockSize(ort);
});

test.each([
  // dy of 16 images at 104×104 is over 4 MB in its one block of channels;
  ['one block of channels', 16, 3, 104],
  // at 64×64 it is 4 MB a block, and the two blocks are read together;
  ['two blocks of channels', 32, 3, 64],
  // seven columns of kernel gradient: the last one by a convolution of its own (nchwc.ts, lastColumnApart).
  ['a 7×7 kernel', 16, 7, 72],
])(
  'a kernel gradient over a large map, in bands of rows, equals the plain convolution’s (%s)',
  async (_, filters, kernel, size) => {
    if (block === 0) return; // no NCHWc kernels on this CPU: no bands either
    // So the blocked kernel gradient is cut into bands (nchwc.ts); the plain convolutions, held to tfjs
    // above, are the reference.
    const c: Case = { name: 'large map', size, build: conv(filters, kernel) };
    const n = 16;
    const m = model(c, 16);
    try {
      const batch = randomBatch(c, n);
      const banded = await onnxSteps(m, batch, n, { kernels: { nchwcBlock: block, batchAligned: true, batch: n } });
      const plain = await onnxSteps(m, batch, n, { kernels: { nchwcBlock: 0, batchAligned: false } });
      expect(relativeDifference(banded.gradients, plain.gradients).worst).toBeLessThanOrEqual(TOLERANCE);
    } finally {
      m.dispose();
    }
  },
);

/**
 * The blocked graph's gradients against the plain graph's (`aligned`: batches a multiple of the
 * block, as a run's full batches), the plain convolutions being held to tfjs below: for blocked
 * paths whose sizes would take tfjs' reference kernels half a minute a batch of 16.
 */
async function blockedAgainstPlain(c: Case, { ops, aligned = true }: { ops?: LayerOps; aligned?: boolean } = {}) {
  const n = 16;
  const m = model(c, 16);
  try {
    const batch = randomBatch(c, n);
    const kernels = aligned
      ? { nchwcBlock: block, batchAligned: true, batch: n }
      : { nchwcBlock: block, batchAligned: false };
    const blocked = await onnxSteps(m, batch, n, { kernels, ops });
    const plain = await onnxSteps(m, batch, n, { kernels: { nchwcBlock: 0, batchAligned: false } });
    return relativeDifference(blocked.gradients, plain.gradients).worst;
  } finally {
    m.dispose();
  }
}

describe('a convolution with its padding written into its input (5×5 and larger, 20 columns and more)', () => {
  // The blocked graph writes the padding into the input (nchwc.ts, padPays) of the forward pass and the input gradient.
  const padded: Array<[string, Case]> = [
    ['5×5 same', { name: '5×5 same', size: 20, build: conv(16, 5) }],
    ['5×5 stride 2 same, dy spread out', { name: '5×5 stride 2', size: 41, build: conv(16, 5, { strides: 2 }) }],
  ];

  test.each(padded)('equals the plain convolution’s gradients (%s)', async (_, c) => {
    if (block === 0) return; // no NCHWc kernels on this CPU
    expect(await blockedAgainstPlain(c)).toBeLessThanOrEqual(TOLERANCE);
  });

  test.each(padded)('an input gradient 1%% off is caught (%s)', async (_, c) => {
    if (block === 0) return;
    expect(await blockedAgainstPlain(c, { ops: plantedError('Conv2D', 'input') })).toBeGreaterThan(TOLERANCE * 10);
  });
});

describe('a kernel held in the NCHWc layout, on the paths that convert it', () => {
  // Every case above with 16 channels in and out holds its kernel blocked (weight-layout.ts); these
  // take the paths that read or write it as [O, I, kh, kw].
  test('batches not a multiple of the block: the kernel gradient from a plain convolution', async () => {
    if (block === 0) return;
    const c: Case = { name: '3×3, unaligned', size: 8, build: conv(16, 3) };
    expect(await blockedAgainstPlain(c, { aligned: false })).toBeLessThanOrEqual(TOLERANCE);
  });

  test('a dilated convolution (3×3, dilation 2): blocked as plain, plain as central differences', async () => {
    if (block === 0) return;
    const c: Case = { name: '3×3 dilation 2', size: 12, build: conv(16, 3, { dilationRate: 2 }) };
    expect(await blockedAgainstPlain(c)).toBeLessThanOrEqual(TOLERANCE);
    // tfjs has no gradient for dilated convolutions: its loss's central differences hold the plain
    // graph's kernel gradient instead, on the dozen entries with the largest gradient.
    const n = 16;
    const m = model(c, 16);
    try {
      const batch = randomBatch(c, n);
      const plain = await onnxSteps(m, batch, n, { kernels: { nchwcBlock: 0, batchAligned: false } });
      const kernel = m.layers[2].weights[0];
      const grad = plain.gradients.get(kernel.name)!;
      const loss = () =>
        tf.tidy(() => {
          const p = m.apply(tf.tensor(batch.xs, [n, c.size, c.size, 2])) as tf.Tensor;
          return tf.mean(tf.metrics.categoricalCrossentropy(tf.tensor2d(batch.ys, [n, 4]), p)).dataSync()[0];
        });
      const values = kernel.read().dataSync() as Float32Array;
      const largest = [...grad.keys()].sort((a, b) => Math.abs(grad[b]) - Math.abs(grad[a])).slice(0, 12);
      const h = 1e-2;
      for (const i of largest) {
        const at = (delta: number) => {
          const changed = Float32Array.from(values);
          changed[i] += delta;
          tf.tidy(() => kernel.write(tf.tensor(changed, kernel.shape)));
          return loss();
        };
        const difference = (at(h) - at(-h)) / (2 * h);
        tf.tidy(() => kernel.write(tf.tensor(values, kernel.shape)));
        // Float32 differences over 2h agree to about 6e-5 of the largest entry; 1% off on one would not.
        expect(Math.abs(difference - grad[i])).toBeLessThanOrEqual(1e-3 * Math.abs(grad[largest[0]]));
      }
    } finally {
      m.dispose();
    }
  });

  test('a strided input gradient by the transposed convolution (32 channels of dy, 21×21)', async () => {
    if (block === 0) return;
    // An odd map is not a whole number of strides (no phases), and 32 channels of dy over 3,600
    // values are not spread out (conv.ts): onnxruntime's ConvTranspose with the plain kernel.
    const c: Case = { name: '3×3 stride 2, 32 filters', size: 41, build: conv(32, 3, { strides: 2 }) };
    expect(await blockedAgainstPlain(c)).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('each layer type’s gradient against tfjs', () => {
  test.each(CASES.flatMap((c) => [[c.name, 'plain', c] as const, [c.name, 'channel-blocked', c] as const]))(
    '%s (%s convolutions)',
    async (_name, kind, c) => {
      if (kind === 'channel-blocked' && block === 0) return; // no NCHWc kernels on this CPU: the plain run covers it
      const g = await gap(c, kind === 'channel-blocked');
      expect(g.loss).toBeLessThanOrEqual(1e-5);
      expect(g.worst).toBeLessThanOrEqual(TOLERANCE);
    },
  );
});

describe('a gradient 1% off is caught', () => {
  test.each([
    ['Conv2D', 'kernel', 'conv 3×3 stride 2 same (odd size)'],
    ['Conv2D', 'input', 'conv 3×3 same'],
    ['Conv2D', 'input', 'conv 5×5 stride 2 same'],
    ['Conv2D', 'input', 'conv 3×3 stride 2 valid'],
    ['SeparableConv2D', 'depthwise_kernel', 'separable conv 3×3'],
    ['SeparableConv2D', 'input', 'separable conv 3×3'],
    ['BatchNormalization', 'gamma', 'batch-norm'],
    ['BatchNormalization', 'input', 'batch-norm'],
    ['BatchNormalization', 'input', 'batch-norm, frozen'],
    ['AveragePooling2D', 'input', 'average pool 2×2 same (odd size)'],
    ['MaxPooling2D', 'input', 'max pool 2×2'],
    ['GlobalAveragePooling2D', 'input', 'global average pool, dense ReLU'],
    ['Dense', 'kernel', 'global average pool, dense ReLU'],
    ['Add', 'input', 'residual add with a 1×1 projection'],
  ])('%s %s gradient (%s)', async (cls, key, name) => {
    const c = CASES.find((x) => x.name === name)!;
    const g = await gap(c, block > 0, plantedError(cls, key));
    expect(g.worst).toBeGreaterThan(TOLERANCE * 10);
  });
});
