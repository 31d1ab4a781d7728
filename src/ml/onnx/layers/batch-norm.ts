import { float, int, ints, type GraphBuilder } from '../graph';
import type { BackwardContext, ForwardContext, LayerOp } from '../layer-op';

/**
 * Batch normalisation as tfjs computes it: by the moving statistics at inference; in training by
 * the batch's mean and biased variance per channel, with the moving statistics updated as
 * `moving − (moving − batch) × (1 − momentum)`. A frozen layer (not trainable: ml/freeze.ts)
 * normalises by its moving statistics in every mode and never updates them, as Keras' BN does when
 * frozen. The per-channel affine maps of the forward and backward passes are onnxruntime's
 * BatchNormalization kernel (one pass over the values) fed with the right per-channel vectors, so
 * that each costs one pass, not four elementwise ops.
 *
 * With x̂ = (x − μ)·σ⁻¹, M values per channel, and sums over every axis but the channels:
 *   ∂β = Σ dy    ∂γ = σ⁻¹ · Σ dy·(x − μ)
 *   ∂x = γσ⁻¹ · dy − γσ⁻¹ · ∂β / M − (x − μ) · γσ⁻³ · Σ dy·(x − μ) / M
 */

const axesOf = (rank: number) => (rank === 4 ? [0, 2, 3] : [0]);

function channels(ctx: { inputs: { dims: number[] }[] }): number {
  return ctx.inputs[0].dims[0];
}

/** Values per channel in one batch: N × H × W. */
function perChannel(ctx: ForwardContext | BackwardContext): string {
  const [, h = 1, w = 1] = ctx.inputs[0].dims;
  return h * w === 1 ? ctx.batchSize() : ctx.g.node('Mul', [ctx.batchSize(), ctx.g.scalar(h * w)]);
}

function affine(ctx: ForwardContext | BackwardContext, key: 'gamma' | 'beta'): string {
  const given = ctx.weight(key);
  if (given) return given;
  const c = channels(ctx);
  return ctx.g.constant([c], new Float32Array(c).fill(key === 'gamma' ? 1 : 0));
}

/** y = x·scale + bias per channel, as one batch-norm node over mean 0 and variance 1. */
function scaleShift(g: GraphBuilder, x: string, scale: string, bias: string, c: number): string {
  return g.node(
    'BatchNormalization',
    [x, scale, bias, g.constant([c], new Float32Array(c)), g.constant([c], new Float32Array(c).fill(1))],
    [float('epsilon', 0)],
  );
}

/**
 * Precise batch-norm's statistics pass: x normalised by its batch, the batch's mean and biased
 * variance out (ctx.statistics), by onnxruntime's batch-norm kernel in training mode (its
 * "running" outputs, momentum 0): one node where a mean, a centring, a sum of squares and the
 * normalisation were four, and a variance closer to float64 (1e-7 against 6e-7 relative). The
 * pass took 4–10% less time a batch (simple_cnn at the bench’s three sizes). The training step
 * keeps its four nodes: its backward pass needs x − μ anyway, and there the kernel gained nothing
 * measurable. The kernel writes its running outputs into the buffers of its running inputs (a fed
 * tensor; a constant the optimiser had merged with another node's), so those inputs are values of
 * their own that nothing else reads (the momentum, 0, multiplies them).
 */
function normalisedByBatch(ctx: ForwardContext, gamma: string, beta: string, epsilon: number): string {
  const g = ctx.g;
  const own = (moving: string) => g.node('Mul', [moving, g.scalar(0)]);
  const [normalised, mean, variance] = g.nodeN(
    'BatchNormalization',
    [ctx.inputs[0].name, gamma, beta, own(ctx.weight('moving_mean')!), own(ctx.weight('moving_variance')!)],
    3,
    [float('epsilon', epsilon), float('momentum', 0), int('training_mode', 1)],
  );
  ctx.statistics(mean, variance);
  return normalised;
}

export const batchNormalization: LayerOp = {
  forward(ctx) {
    const g = ctx.g;
    const [x] = ctx.inputs;
    const epsilon = Number(ctx.config.epsilon ?? 1e-3);
    const gamma = affine(ctx, 'gamma');
    const beta = affine(ctx, 'beta');
    const normalise = (mean: string, variance: string) =>
      g.node('BatchNormalization', [x.name, gamma, beta, mean, variance], [float('epsilon', epsilon)]);
    if (ctx.mode === 'inference' || !ctx.layer.trainable)
      return normalise(ctx.weight('moving_mean')!, ctx.weight('moving_variance')!);
    if (ctx.mode === 'statistics') return normalisedByBatch(ctx, gamma, beta, epsilon);
    const axes = axesOf(x.dims.length + 1);
    const c = channels(ctx);
    const mean = g.node('ReduceMean', [x.name], [int('keepdims', 1), ints('axes', axes)]);
    const centred = g.node('Sub', [x.name, mean]);
    const variance = g.node('Div', [
      g.node('ReduceSumSquare', [centred], [int('keepdims', 0), ints('axes', axes)]),
      perChannel(ctx),
    ]);
    const flatMean = g.node('Reshape', [mean, g.int64s([c])]);
    if (ctx.mode === 'train') {
      ctx.save('centred', centred);
      ctx.save('invStd', g.node('Reciprocal', [g.node('Sqrt', [g.node('Add', [variance, g.scalar(epsilon)])])]));
      const decay = g.scalar(1 - Number(ctx.config.momentum ?? 0.99));
      const movingAverage = (moving: string, batch: string) =>
        g.node('Sub', [moving, g.node('Mul', [g.node('Sub', [moving, batch]), decay])]);
      ctx.updated('moving_mean', movingAverage(ctx.weight('moving_mean')!, flatMean));
      ctx.updated('moving_variance', movingAverage(ctx.weight('moving_variance')!, variance));
    }
    return normalise(flatMean, variance);
  },
  backward(ctx, dy) {
    const g = ctx.g;
    const [x] = ctx.inputs;
    if (!ctx.layer.trainable) return [x.requiresGrad ? frozenInputGradient(ctx, dy) : null];
    const rank = x.dims.length + 1;
    const axes = g.int64s(axesOf(rank));
    const c = channels(ctx);
    const centred = ctx.saved('centred');
    const invStd = ctx.saved('invStd');
    const sum = (v: string) => g.node('ReduceSum', [v, axes], [int('keepdims', 0)]);
    const sumDy = sum(dy);
    const sumDyCentred = sum(g.node('Mul', [dy, centred]));
    if (ctx.weight('beta')) ctx.gradient('beta', sumDy);
    if (ctx.weight('gamma')) ctx.gradient('gamma', g.node('Mul', [sumDyCentred, invStd]));
    if (!x.requiresGrad) return [null];
    const count = perChannel(ctx);
    const a = g.node('Mul', [affine(ctx, 'gamma'), invStd]);
    const shift = g.node('Neg', [g.node('Div', [g.node('Mul', [a, sumDy]), count])]);
    const slope = g.node('Neg', [
      g.node('Div', [g.node('Mul', [g.node('Mul', [a, g.node('Mul', [invStd, invStd])]), sumDyCentred]), count]),
    ]);
    const slopeShape = rank === 4 ? [1, c, 1, 1] : [1, c];
    const dx = g.node('Add', [
      scaleShift(g, dy, a, shift, c),
      g.node('Mul', [centred, g.node('Reshape', [slope, g.int64s(slopeShape)])]),
    ]);
    return [dx];
  },
};

/**
 * A frozen layer is the fixed per-channel map γ·(x − moving mean)/√(moving variance + ε) + β: its
 * input's gradient is dy scaled by γ/√(moving variance + ε), and its weights get none. (Only reached
 * when something before it trains, which a frozen prefix never has.)
 */
function frozenInputGradient(ctx: BackwardContext, dy: string): string {
  const g = ctx.g;
  const c = channels(ctx);
  const epsilon = Number(ctx.config.epsilon ?? 1e-3);
  const invStd = g.node('Reciprocal', [
    g.node('Sqrt', [g.node('Add', [ctx.weight('moving_variance')!, g.scalar(epsilon)])]),
  ]);
  const scale = g.node('Mul', [affine(ctx, 'gamma'), invStd]);
  return scaleShift(g, dy, scale, g.constant([c], new Float32Array(c)), c);
}
