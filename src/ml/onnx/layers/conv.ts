import { int, ints, type GraphBuilder } from '../graph';
import type { tf } from '../../tf';
import type { BackwardContext, ForwardContext, LayerOp, Value } from '../layer-op';
import {
  batchBlockedConvolution,
  blockedFromSwapped,
  convolve,
  depthwisePlanesConvolution,
  flippedConvolution,
  phasedConvolution,
  plainFromBlocked,
  subsampled,
} from '../nchwc';
import { activate, activationGradient } from './activation';
import { flipSpatial, outputPadding, pair, windowAttributes, windowOf, type Window } from './window';

/**
 * Convolutions and their gradients as ONNX convolutions, which onnxruntime runs with its native
 * kernels (ONNX has no backward-convolution op):
 * - input gradient: the convolution of dy by the kernel flipped and transposed (stride 1), else
 *   the transposed convolution of dy by the kernel;
 * - kernel gradient: a convolution of the input seen with batch and channels swapped ([Ci, N, H, W])
 *   by dy seen the same way ([Co, N, oh, ow]) as the kernel, dilated by the forward stride — its
 *   output [Ci, Co, kh, kw] is the kernel gradient transposed. A 1×1 kernel makes that a matrix
 *   product, done as one (a convolution there is a matrix-vector product per input channel).
 */

/** A convolution as the gradients need to know it. */
interface Conv {
  win: Window;
  out: number;
  in: number;
  group: number;
}

function convOf(ctx: { config: Record<string, unknown> }, x: Value, out: number, group: number): Conv {
  const kernel = pair(ctx.config.kernelSize);
  const win = windowOf(ctx.config, [x.dims[1], x.dims[2]], kernel, pair(ctx.config.strides));
  return { win, out, in: x.dims[0], group };
}

function forward(g: GraphBuilder, x: string, w: string, bias: string | undefined, c: Conv, blocked = false): string {
  return convolve(
    g,
    x,
    w,
    bias,
    { out: c.out, in: c.in, kernel: c.win.kernel, group: c.group, size: c.win.input },
    windowAttributes(c.win),
    blocked,
  );
}

/** dx of the convolution `c` with kernel `w` (held blocked or not) whose output gradient is `dy`. */
function inputGradient(g: GraphBuilder, dy: string, kernel: string, c: Conv, blocked = false): string {
  return g.within('input', () => {
    const dims = [c.out, c.in / c.group, ...c.win.kernel];
    // The paths below that run plain convolutions read the kernel [O, I, kh, kw].
    let plain: string | undefined;
    const w = () => (plain ??= blocked ? plainFromBlocked(g, kernel, dims) : kernel);
    const { win, group, in: inChannels, out: outChannels } = c;
    const [kh, kw] = win.kernel;
    const strided = win.strides[0] !== 1 || win.strides[1] !== 1;
    // dx is the convolution of dy (spread out by the strides) by the kernel flipped, with in and
    // out channels swapped, padded by what the forward pass did not pad.
    const extent = win.kernel.map((k, a) => (k - 1) * win.dilations[a]);
    const spare = outputPadding(win);
    const pads = [
      extent[0] - win.pads[0],
      extent[1] - win.pads[1],
      extent[0] - win.pads[2] + spare[0] - (win.strides[0] - 1),
      extent[1] - win.pads[3] + spare[1] - (win.strides[1] - 1),
    ];
    const grad = { name: dy, dims: [outChannels, ...win.output] };
    if (group === 1 && strided && phasesPay(win)) {
      const phased = phasedConvolution(g, grad, kernel, [outChannels, inChannels, kh, kw], win, blocked);
      if (phased) return phased;
    }
    if (group === 1 && (!strided || spreadPays(win, outChannels))) {
      const flipped = flippedConvolution(
        g,
        grad,
        kernel,
        [outChannels, inChannels, kh, kw],
        { dilations: win.dilations, pads, strides: win.strides },
        blocked,
      );
      if (flipped) return flipped;
    }
    if (strided) {
      return g.node(
        'ConvTranspose',
        [dy, w()],
        [...windowAttributes(win), ints('output_padding', spare), int('group', group)],
      );
    }
    const attrs = [ints('kernel_shape', win.kernel), ints('dilations', win.dilations), ints('pads', pads)];
    const perGroup = g.node('Reshape', [w(), g.int64s([group, outChannels / group, inChannels / group, kh, kw])]);
    const swapped = g.node('Reshape', [
      g.node('Transpose', [perGroup], [ints('perm', [0, 2, 1, 3, 4])]),
      g.int64s([inChannels, outChannels / group, kh, kw]),
    ]);
    const flipped = flipSpatial(g, swapped, win.kernel);
    return convolve(g, dy, flipped, undefined, { out: inChannels, in: outChannels, kernel: win.kernel, group }, attrs);
  });
}

/** Input columns from which a strided input gradient runs by phases (phasesPay). */
const PHASES_FROM_WIDTH = 4;

/**
 * Whether a strided convolution's input gradient runs as one stride-1 blocked convolution per
 * phase of dx (nchwc.ts, phasedConvolution): the forward pass's products and no zeros, where the
 * spread-out dy multiplies by zeros (four times the products at stride 2) and ConvTranspose
 * unfolds and folds back. Per layer (the profiler): simpler_cnn's block1_conv2 (5×5, 16 channels)
 * at 64×64 19.56 → 9.09 ms, block2_conv2 (5×5, 32) 13.41 → 6.02; at 20×20 1.92 → 0.79 and
 * 1.32 → 0.74; resnet_small's stage2_conv1 (3×3) 1.56 → 0.81 at 20×20, 9.41 → 8.38 at 64×64. Whole
 * steps, alternated: simpler_cnn −6% (20×20), −12% (32×32), −14% (64×64); resnet_small −5% and −1%.
 * Slower on a 2×2 input (simpler_cnn's block5_conv2 at 20×20: 0.62 → 0.79 ms), whose phases are
 * single values. Dilated windows keep the other paths; so do maps that are not a whole number of
 * strides and kernels narrower than the stride (phasedConvolution says so by returning null).
 */
function phasesPay(win: Window): boolean {
  return win.dilations[0] === 1 && win.dilations[1] === 1 && win.input[1] >= PHASES_FROM_WIDTH;
}

/** dy values per image up to which a strided input gradient is spread out (spreadPays), */
const SPREAD_MAX_VALUES = 3600;
/** and dy's channels up to which it is spread out at any size. */
const SPREAD_ANY_SIZE_CHANNELS = 16;

/**
 * Where it does not run by phases (phasesPay), whether a strided convolution's input gradient runs
 * faster as the stride-1 blocked convolution of dy spread out by zeros (nchwc.ts, zeroInserted) than
 * as onnxruntime's ConvTranspose (an unfold, matrix products and a fold back). The spread one
 * multiplies by zeros (four times the products at stride 2), so it pays where the transposed
 * convolution's products are small. Per
 * layer (the profiler, simpler_cnn and resnet_small at 20×20, 32×32 and 64×64): faster with up to
 * 3,200 values of dy per image, slower with 4,096 and more, except where dy has 16 channels, whose
 * products are the thinnest (simpler_cnn's block1_conv2 at 32×32: 5.4 → 4.4 ms, at 64×64: 18.8 →
 * 15.6 ms); with a 1×1 kernel (a plain matrix product for ConvTranspose) slower at every size.
 * Whole steps with the value rule, alternated against ConvTranspose everywhere: simpler_cnn −16%
 * and resnet_small −6% at 20×20. Dilated windows keep ConvTranspose.
 */
function spreadPays(win: Window, dyChannels: number): boolean {
  const unit = win.dilations[0] === 1 && win.dilations[1] === 1;
  const values = dyChannels * win.output[0] * win.output[1];
  return (
    unit && win.kernel[0] * win.kernel[1] > 1 && (values <= SPREAD_MAX_VALUES || dyChannels <= SPREAD_ANY_SIZE_CHANNELS)
  );
}

/**
 * The kernel gradient in ONNX layout: [Co, Ci, kh, kw], or [Ci × m, 1, kh, kw] for a depthwise
 * convolution (each input channel convolved on its own, m outputs each).
 */
function kernelGradient(g: GraphBuilder, x: Value, dy: string, c: Conv, blocked = false): string {
  return g.within('kernel', () => {
    const { win, out: outChannels } = c;
    const [kh, kw] = win.kernel;
    const depthwise = c.group > 1;
    if (!depthwise && kh === 1 && kw === 1) return pointwiseKernelGradient(g, x, dy, outChannels, win);
    const [ci, h, w] = x.dims;
    // The trick's output has one row per kernel row, plus any rows the forward pass never reached
    // at the end: those are taken off the bottom/right padding, else sliced away.
    const excess = [0, 1].map(
      (a) =>
        win.input[a] +
        win.pads[a] +
        win.pads[a + 2] -
        ((win.output[a] - 1) * win.strides[a] + 1) -
        (win.kernel[a] - 1) * win.dilations[a],
    );
    const [top, left, bottom, right] = win.pads;
    const pads = [top, left, Math.max(bottom - excess[0], 0), Math.max(right - excess[1], 0)];
    // Rows and columns of the result beyond the kernel's, sliced away below.
    const extra = [Math.max(excess[0] - bottom, 0), Math.max(excess[1] - right, 0)];
    const window = [ints('kernel_shape', win.output), ints('strides', win.dilations), ints('dilations', win.strides)];
    const attrs = [...window, ints('pads', pads)];
    const swap = (v: string) => g.node('Transpose', [v], [ints('perm', [1, 0, 2, 3])]);
    let dw: string;
    if (depthwise) {
      // Without a depth multiplier, on the NCHWc kernels by image plane (nchwc.ts) where it can; else
      // [1, Ci·N, H, W] by dy: group c holds channel c's batch.
      const byPlane =
        c.out === ci
          ? depthwisePlanesConvolution(g, x, dy, win.output, [kh + extra[0], kw + extra[1]], pads, window)
          : null;
      dw =
        byPlane ??
        g.node(
          'Conv',
          [g.node('Reshape', [swap(x.name), g.int64s([1, -1, h, w])]), swap(dy)],
          [...attrs, int('group', ci)],
        );
    } else {
      const rows = { kernel: win.kernel, rows: kh + extra[0], columns: kw + extra[1] };
      const byBatch = batchBlockedConvolution(
        g,
        x,
        dy,
        [outChannels, ...win.output],
        pads,
        window,
        blocked ? rows : undefined,
      );
      if (byBatch && blocked) return byBatch;
      dw = byBatch ?? g.node('Conv', [swap(x.name), swap(dy)], [...attrs, int('group', 1)]);
    }
    if (excess[0] > bottom || excess[1] > right) {
      dw = g.node('Slice', [dw, g.int64s([0, 0]), g.int64s([kh, kw]), g.int64s([2, 3])]);
    }
    // [Ci, Co, kh, kw] → [Co, Ci, kh, kw] (or held blocked); depthwise [1, Ci·m, kh, kw] → [Ci·m, 1, kh, kw]
    if (depthwise) return g.node('Reshape', [dw, g.int64s([outChannels, 1, kh, kw])]);
    if (blocked) return blockedFromSwapped(g, dw, [outChannels, ci, kh, kw]);
    return g.node('Transpose', [dw], [ints('perm', [1, 0, 2, 3])]);
  });
}

/** A 1×1 kernel's gradient as one matrix product: dy [Co, N·P] × x [Ci, N·P]ᵀ (x subsampled by the stride). */
function pointwiseKernelGradient(g: GraphBuilder, x: Value, dy: string, outChannels: number, win: Window): string {
  const [ci] = x.dims;
  let input = x.name;
  if (win.strides[0] > 1 || win.strides[1] > 1) {
    // Unpadded (as "same" and "valid" leave a 1×1 kernel), the output keeps ⌈size / stride⌉ rows
    // and columns, as a pool over one value does.
    const ends = [0, 1].map((a) => (win.output[a] - 1) * win.strides[a] + 1);
    input =
      (win.pads.every((p) => p === 0) ? subsampled(g, x, win.strides) : null) ??
      g.node('Slice', [input, g.int64s([0, 0]), g.int64s(ends), g.int64s([2, 3]), g.int64s(win.strides)]);
  }
  const cols = g.node('Reshape', [
    g.node('Transpose', [dy], [ints('perm', [1, 0, 2, 3])]),
    g.int64s([outChannels, -1]),
  ]);
  // x as [Ci, N·P] too, the product taking it transposed: both views move whole planes, where
  // x as [N·P, Ci] moved every value on its own (a step of mini_xception 2–3% faster).
  const planes = g.node('Reshape', [g.node('Transpose', [input], [ints('perm', [1, 0, 2, 3])]), g.int64s([ci, -1])]);
  return g.node('Reshape', [g.node('Gemm', [cols, planes], [int('transB', 1)]), g.int64s([outChannels, ci, 1, 1])]);
}

function biasGradient(ctx: BackwardContext, dy: string): void {
  if (ctx.weight('bias'))
    ctx.gradient('bias', ctx.g.node('ReduceSum', [dy, ctx.g.int64s([0, 2, 3])], [int('keepdims', 0)]));
}

export const conv2d: LayerOp = {
  forward(ctx: ForwardContext) {
    const [x] = ctx.inputs;
    const c = convOf(ctx, x, ctx.outDims[0], 1);
    const blocked = ctx.blocked('kernel');
    return activate(ctx, forward(ctx.g, x.name, ctx.weight('kernel')!, ctx.weight('bias'), c, blocked));
  },
  backward(ctx, dy) {
    const [x] = ctx.inputs;
    const c = convOf(ctx, x, ctx.outDims[0], 1);
    const blocked = ctx.blocked('kernel');
    const dz = activationGradient(ctx, dy);
    ctx.gradient('kernel', kernelGradient(ctx.g, x, dz, c, blocked));
    biasGradient(ctx, dz);
    return [x.requiresGrad ? inputGradient(ctx.g, dz, ctx.weight('kernel')!, c, blocked) : null];
  },
};

/**
 * The two convolutions of a separable one: depthwise (m outputs per input channel), then 1×1. m is
 * read off the depthwise kernel [kh, kw, in, m]: tfjs leaves depthMultiplier out of the layer's config.
 */
function separableParts(ctx: { config: Record<string, unknown>; outDims: number[]; layer: tf.layers.Layer }, x: Value) {
  const depthwiseKernel = ctx.layer.weights.find((w) => w.originalName.endsWith('depthwise_kernel'))!;
  const multiplier = Number(depthwiseKernel.shape[3]);
  const depthwise = convOf(ctx, x, x.dims[0] * multiplier, x.dims[0]);
  const mid: Value = { name: '', dims: [x.dims[0] * multiplier, ...depthwise.win.output], requiresGrad: true };
  const pointwise = convOf({ config: { kernelSize: 1, padding: 'valid' } }, mid, ctx.outDims[0], 1);
  return { depthwise, pointwise, midDims: mid.dims };
}

export const separableConv2d: LayerOp = {
  forward(ctx) {
    const [x] = ctx.inputs;
    const { depthwise, pointwise } = separableParts(ctx, x);
    const mid = forward(ctx.g, x.name, ctx.weight('depthwise_kernel')!, undefined, depthwise);
    ctx.save('depthwise', mid);
    return activate(ctx, forward(ctx.g, mid, ctx.weight('pointwise_kernel')!, ctx.weight('bias'), pointwise));
  },
  backward(ctx, dy) {
    const [x] = ctx.inputs;
    const g = ctx.g;
    const { depthwise, pointwise, midDims } = separableParts(ctx, x);
    const mid: Value = { name: ctx.saved('depthwise'), dims: midDims, requiresGrad: true };
    const dz = activationGradient(ctx, dy);
    ctx.gradient('pointwise_kernel', kernelGradient(g, mid, dz, pointwise));
    biasGradient(ctx, dz);
    const dmid = inputGradient(g, dz, ctx.weight('pointwise_kernel')!, pointwise);
    ctx.gradient('depthwise_kernel', kernelGradient(g, x, dmid, depthwise));
    return [x.requiresGrad ? inputGradient(g, dmid, ctx.weight('depthwise_kernel')!, depthwise) : null];
  },
};
