import { int, ints } from '../graph';
import { UnsupportedLayerError, type LayerOp } from '../layer-op';
import { activate, activationGradient } from './activation';

/** Layers that pass values through, reshape them, or combine them: input, dropout, flatten, dense, add. */

export const inputLayer: LayerOp = {
  forward: (ctx) => ctx.inputs[0].name,
  backward: (_ctx, dy) => [dy],
};

/**
 * Inverted dropout as tfjs does it (kept values scaled by 1/(1 − rate)), with the mask given per
 * step by the engine from mldb's seeded generator: the same seed, the same masks.
 */
export const dropout: LayerOp = {
  forward(ctx) {
    const [x] = ctx.inputs;
    if (ctx.mode !== 'train') return x.name;
    const mask = ctx.mask(x.dims);
    ctx.save('mask', mask);
    return ctx.g.node('Mul', [x.name, mask]);
  },
  backward: (ctx, dy) => [ctx.g.node('Mul', [dy, ctx.saved('mask')])],
};

/** Keras flattens NHWC: back to that order first, so that the next dense layer's weights line up. */
export const flatten: LayerOp = {
  forward(ctx) {
    const [x] = ctx.inputs;
    if (x.dims.length !== 3) return x.name;
    const nhwc = ctx.g.node('Transpose', [x.name], [ints('perm', [0, 2, 3, 1])]);
    return ctx.g.node('Flatten', [nhwc], [int('axis', 1)]);
  },
  backward(ctx, dy) {
    const [x] = ctx.inputs;
    if (x.dims.length !== 3) return [dy];
    const [c, h, w] = x.dims;
    const nhwc = ctx.g.node('Reshape', [dy, ctx.g.int64s([-1, h, w, c])]);
    return [ctx.g.node('Transpose', [nhwc], [ints('perm', [0, 3, 1, 2])])];
  },
};

/** y = x·W + b on [N, F] (tfjs' kernel is [in, out], as Gemm takes it). */
export const dense: LayerOp = {
  forward(ctx) {
    const [x] = ctx.inputs;
    if (x.dims.length !== 1) throw new UnsupportedLayerError('Dense over an image (flatten first)');
    const args = [x.name, ctx.weight('kernel')!];
    const bias = ctx.weight('bias');
    if (bias) args.push(bias);
    return activate(ctx, ctx.g.node('Gemm', args));
  },
  backward(ctx, dy) {
    const g = ctx.g;
    const [x] = ctx.inputs;
    const dz = activationGradient(ctx, dy);
    ctx.gradient('kernel', g.node('Gemm', [x.name, dz], [int('transA', 1)]));
    if (ctx.weight('bias')) ctx.gradient('bias', g.node('ReduceSum', [dz, g.int64s([0])], [int('keepdims', 0)]));
    return [x.requiresGrad ? g.node('Gemm', [dz, ctx.weight('kernel')!], [int('transB', 1)]) : null];
  },
};

export const add: LayerOp = {
  forward: (ctx) =>
    ctx.g.node(
      ctx.inputs.length === 2 ? 'Add' : 'Sum',
      ctx.inputs.map((v) => v.name),
    ),
  backward: (ctx, dy) => ctx.inputs.map((v) => (v.requiresGrad ? dy : null)),
};
