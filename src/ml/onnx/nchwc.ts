import { int, ints, type Attribute, type GraphBuilder, type KernelOptions } from './graph';
import { TRAINING_OPTION_TABLE } from '../training-options';
import { flipSpatial } from './layers/window';

/**
 * Convolutions on onnxruntime's NCHWc kernels. onnxruntime runs a convolution whose kernel is a
 * constant in a channel-blocked layout ("NCHWc", blocks of 8 or 16 channels on AVX2/AVX-512), two
 * to three times as fast as its plain NCHW convolution — but a training step's kernels are inputs,
 * which its optimiser leaves in NCHW. The blocked kernels are there as operators of their own
 * (com.microsoft.nchwc Conv, ReorderInput, ReorderOutput), so the step asks for them itself: the
 * kernel reordered by a transpose in the graph (as onnxruntime's NchwcTransformer reorders a
 * constant one, OIHW → OIHWBiBo, or OIHWBo for few input channels and depthwise kernels), the
 * input reordered before, the output after. The block size is the machine's (nchwc-probe.ts);
 * shapes the kernels do not take stay plain convolutions.
 */

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

export interface ConvShape {
  /** Output channels. */
  out: number;
  /** Input channels; "batch" when they are the batch (a kernel gradient's view of its input). */
  in: number | 'batch';
  kernel: [number, number];
  group: number;
  /** The input's height and width, where known: its padding is then written into the blocked input (padInput). */
  size?: [number, number];
}

type Layout = 'OIHWBiBo' | 'OIHWBo';

/** How onnxruntime's kernels can take this convolution with blocks of `block`, or null. */
function layoutFor(shape: ConvShape, kernels: KernelOptions): Layout | null {
  const block = kernels.nchwcBlock;
  if (block === 0) return null;
  if (shape.in === 'batch') return shape.group === 1 && kernels.batchAligned ? 'OIHWBiBo' : null;
  if (shape.group === 1) {
    // Output channels short of a block are padded with zero kernels (see padOutputs).
    if (shape.in < block) return 'OIHWBo'; // the input stays NCHW
    return shape.in % block === 0 ? 'OIHWBiBo' : null;
  }
  const depthwise = shape.group === shape.in && shape.out === shape.group && shape.out % block === 0;
  return depthwise ? 'OIHWBo' : null;
}

/** `channels` rounded up to a whole number of blocks. */
const wholeBlocks = (channels: number, block: number) => Math.ceil(channels / block) * block;

/**
 * A kernel (and bias) with zero filters appended up to a whole number of blocks: a convolution
 * with, say, 10 outputs (a classifier's last) then runs on the blocked kernels, whose output
 * reorder drops the extra channels — where onnxruntime's plain convolution of such a layer, a few
 * output channels over many input ones, ran at a thirtieth of the blocked kernels' speed.
 */
function padOutputs(g: GraphBuilder, w: string, bias: string | undefined, out: number, block: number) {
  const extra = wholeBlocks(out, block) - out;
  if (extra === 0) return { w, bias };
  return {
    w: g.node('Pad', [w, g.int64s([0, 0, 0, 0, extra, 0, 0, 0])]),
    bias: bias && g.node('Pad', [bias, g.int64s([0, extra])]),
  };
}

function reorderKernel(g: GraphBuilder, w: string, shape: ConvShape, layout: Layout, block: number): string {
  const o = shape.out;
  // -1: the batch, whose size the graph does not fix.
  const i = shape.in === 'batch' ? -1 : shape.in / shape.group;
  const [kh, kw] = shape.kernel;
  const blocked =
    layout === 'OIHWBiBo'
      ? g.node(
          'Transpose',
          [g.node('Reshape', [w, g.int64s([o / block, block, i === -1 ? -1 : i / block, block, kh, kw])])],
          [ints('perm', [0, 2, 4, 5, 3, 1])],
        )
      : g.node(
          'Transpose',
          [g.node('Reshape', [w, g.int64s([o / block, block, i, kh, kw])])],
          [ints('perm', [0, 2, 3, 4, 1])],
        );
  return g.node('Reshape', [blocked, g.int64s([o, i, kh, kw])]);
}

/** The blocked convolution itself: the input reordered unless it stays NCHW, the output back to NCHW. */
function blockedConvolution(
  g: GraphBuilder,
  x: string,
  kernel: string,
  bias: string | undefined,
  shape: ConvShape,
  layout: Layout,
  attrs: Attribute[],
  inputBlocked = false,
  outputBlocked = false,
): string {
  const staysPlain = layout === 'OIHWBo' && shape.group === 1;
  const reordered = inputBlocked || staysPlain ? x : reorderInput(g, x);
  const { input, window } = staysPlain ? { input: reordered, window: attrs } : padInput(g, reordered, shape, attrs);
  const [y] = g.nodeN(
    'Conv',
    bias ? [input, kernel, bias] : [input, kernel],
    1,
    [...window, int('group', shape.group)],
    NCHWC_DOMAIN,
  );
  if (outputBlocked) return y;
  return g.nodeN('ReorderOutput', [y], 1, [int('channels', shape.out)], NCHWC_DOMAIN)[0];
}

/**
 * The blocked input with the convolution's padding written into it (where that pays), and the
 * window without it. onnxruntime's NCHWc kernel computes an output column whose window reaches
 * into the padding on its own, checking bounds at every kernel column, and the inner columns in
 * groups; with the zeros in the input every column is an inner one, for a copy of the input.
 */
function padInput(g: GraphBuilder, x: string, shape: ConvShape, attrs: Attribute[]) {
  const padsAttr = attrs.find((a) => a.name === 'pads');
  const pads = (padsAttr?.ints ?? [0, 0, 0, 0]).map(Number);
  if (!shape.size || shape.in === 'batch' || pads.every((p) => p === 0) || !padPays(shape.kernel, shape.size)) {
    return { input: x, window: attrs };
  }
  const input = padBlocked(g, x, [shape.in, ...shape.size], pads, 'batch first');
  return { input, window: [...attrs.filter((a) => a !== padsAttr), ints('pads', [0, 0, 0, 0])] };
}

/** Kernel rows and columns from which, */
const PAD_KERNEL_FROM = 5;
/** and input columns from which, a convolution's padding is written into its input (padPays). */
const PAD_WIDTH_FROM = 20;

/**
 * Whether writing the padding into a convolution's input is faster than leaving it to the kernel
 * (padInput): per layer with the profiler, forward passes and input gradients, simple_cnn and
 * simpler_cnn at 20×20, 32×32 and 64×64. 7×7 at 20 columns: forward 3.58 → 2.47 ms + 0.62 for the
 * copy, input gradient 3.51 → 2.58 + 0.27; 5×5 at 32 columns: 12.34 → 9.60 + 1.97; 7×7 at 64:
 * 30.46 → 24.90 + 3.47. Slower with 5×5 at 10 and 16 columns (the copy costs more than the edge
 * columns did), and with every 3×3 kernel at any size (one edge column a side).
 */
function padPays([kh, kw]: [number, number], [, width]: [number, number]): boolean {
  return Math.min(kh, kw) >= PAD_KERNEL_FROM && width >= PAD_WIDTH_FROM;
}

/** x blocked over its channels; once per value (a layer's dy feeds both of its gradients' convolutions). */
const reorderInput = (g: GraphBuilder, x: string) =>
  g.once(`ReorderInput ${x}`, () => g.nodeN('ReorderInput', [x], 1, [], NCHWC_DOMAIN)[0]);

/**
 * A convolution of `x` by `w` (ONNX layout, any value: a weight or an activation), with `attrs`
 * (kernel_shape, strides, dilations, pads; not group): on the NCHWc kernels when the graph's
 * kernel options and the shape allow, else a plain Conv.
 */
export function convolve(
  g: GraphBuilder,
  x: string,
  w: string,
  bias: string | undefined,
  shape: ConvShape,
  attrs: Attribute[],
  kernelBlocked = false,
): string {
  const layout = layoutFor(shape, g.kernels);
  if (kernelBlocked) {
    // Held blocked (weight-layout.ts) only where these kernels take it.
    if (layout !== 'OIHWBiBo') throw new Error('a blocked kernel for a convolution the NCHWc kernels do not take');
    return blockedConvolution(g, x, w, bias, shape, layout, attrs);
  }
  if (!layout) return g.node('Conv', bias ? [x, w, bias] : [x, w], [...attrs, int('group', shape.group)]);
  const block = g.kernels.nchwcBlock;
  const padded = padOutputs(g, w, bias, shape.out, block);
  const kernel = reorderKernel(g, padded.w, { ...shape, out: wholeBlocks(shape.out, block) }, layout, block);
  return blockedConvolution(g, x, kernel, padded.bias, shape, layout, attrs);
}

/**
 * The convolution of dy by the kernel `w` [O, I, kh, kw] with in and out swapped and flipped (an
 * input gradient, conv.ts), when it can run blocked with group 1: the swapped, blocked kernel
 * comes straight from reordering w's input channels (ReorderInput, onnxruntime's own fast reorder)
 * and one transpose that moves whole blocks, and the flip then reverses whole blocks — where
 * swapping, flipping and blocking element by element took six times as long. `pads` may end
 * below zero (rows and columns the forward pass never read). For a strided forward pass dy is
 * first spread out by `strides` (zeroInserted). Null where the shapes do not fit the blocks.
 */
export function flippedConvolution(
  g: GraphBuilder,
  dy: { name: string; dims: number[] },
  w: string,
  [o, i, kh, kw]: number[],
  window: { dilations: number[]; pads: number[]; strides: number[] },
  kernelBlocked = false,
  outputBlocked = false,
): string | null {
  const block = g.kernels.nchwcBlock;
  const shape: ConvShape = { out: i, in: o, kernel: [kh, kw], group: 1 };
  if (layoutFor(shape, g.kernels) !== 'OIHWBiBo' || i % block !== 0) return null;
  // The blocked kernel of I outputs over O inputs, [I/B][O/B][kh][kw][Bo][Bi]: from a kernel held
  // blocked, [O/B][I/B][kh][kw][Bi][Bo], each B×B tile transposed, then whole tiles moved; from
  // [O][I/B][kh][kw][Bi] (w's input channels reordered), by moving whole blocks.
  const blocked = kernelBlocked
    ? g.node(
        'Transpose',
        [g.node('Reshape', [transposedTiles(g, w), g.int64s([o / block, i / block, kh, kw, block, block])])],
        [ints('perm', [1, 0, 2, 3, 4, 5])],
      )
    : g.node(
        'Transpose',
        [g.node('Reshape', [reorderInput(g, w), g.int64s([o / block, block, i / block, kh, kw, block])])],
        [ints('perm', [2, 0, 3, 4, 1, 5])],
      );
  const kernel = g.node('Reshape', [flipSpatial(g, blocked, [kh, kw]), g.int64s([i, o, kh, kw])]);
  const [top, left, bottom, right] = window.pads;
  const cut = [Math.max(-bottom, 0), Math.max(-right, 0)];
  const spread = window.strides.some((s) => s > 1) || cut[0] > 0 || cut[1] > 0;
  const input = spread ? zeroInserted(g, dy, window.strides, cut) : dy.name;
  const [, dh, dw] = dy.dims;
  const size: [number, number] = spread ? [dh * window.strides[0] - cut[0], dw * window.strides[1] - cut[1]] : [dh, dw];
  const attrs = [
    ints('kernel_shape', [kh, kw]),
    ints('dilations', window.dilations),
    ints('pads', [top, left, Math.max(bottom, 0), Math.max(right, 0)]),
  ];
  return blockedConvolution(g, input, kernel, undefined, { ...shape, size }, 'OIHWBiBo', attrs, spread, outputBlocked);
}

/**
 * The input gradient of a strided convolution as one stride-1 convolution per phase of dx (its
 * rows a, a + s, a + 2s, … and likewise its columns): phase a of a row reads only the kernel rows
 * r, r + s, … with r = (a + top padding) mod s, so it is dy convolved by that sub-kernel, flipped
 * and swapped as flippedConvolution does, with the products of the forward pass and no zeros
 * multiplied; the phases' blocked outputs are then interleaved into dx by two concatenations and
 * one output reorder. Null where the map is not a whole number of strides, a phase would read no
 * kernel row, or the shapes do not fit the blocks.
 */
export function phasedConvolution(
  g: GraphBuilder,
  dy: { name: string; dims: number[] },
  w: string,
  [o, i, kh, kw]: number[],
  win: { strides: number[]; pads: number[]; input: number[]; output: number[] },
  kernelBlocked = false,
): string | null {
  const block = g.kernels.nchwcBlock;
  const [sh, sw] = win.strides;
  const [h, wd] = win.input;
  const blocks = block > 0 && i % block === 0 && o % block === 0;
  if (!blocks || h % sh !== 0 || wd % sw !== 0 || kh < sh || kw < sw) return null;
  /** Per phase a of one axis: its first kernel tap, its taps, and the padding of dy it reads. */
  const phases = (k: number, s: number, before: number, inSize: number, outSize: number) =>
    Array.from({ length: s }, (_, a) => {
      const r = (a + before) % s;
      const taps = Math.ceil((k - r) / s);
      const first = Math.floor((a + before) / s);
      const padBefore = taps - 1 - first;
      return { r, taps, padBefore, padAfter: inSize / s + taps - 1 - padBefore - outSize };
    });
  const rows = phases(kh, sh, win.pads[0], h, win.output[0]);
  const cols = phases(kw, sw, win.pads[1], wd, win.output[1]);
  // Every return of null is before the first node, so that none is left unused in the graph.
  if ([...rows, ...cols].some((p) => p.padBefore < 0)) return null;
  const [n, m] = [h / sh, wd / sw];
  const view = kernelBlocked ? g.node('Reshape', [w, g.int64s([o / block, i / block, kh, kw, block, block])]) : w;
  const rowParts: string[] = [];
  for (const row of rows) {
    const parts: string[] = [];
    for (const col of cols) {
      const taps = g.node('Slice', [
        view,
        g.int64s([row.r, col.r]),
        g.int64s([kh, kw]),
        g.int64s([2, 3]),
        g.int64s([sh, sw]),
      ]);
      const sub = kernelBlocked ? g.node('Reshape', [taps, g.int64s([o, i, row.taps, col.taps])]) : taps;
      const phase = flippedConvolution(
        g,
        dy,
        sub,
        [o, i, row.taps, col.taps],
        { dilations: [1, 1], pads: [row.padBefore, col.padBefore, row.padAfter, col.padAfter], strides: [1, 1] },
        kernelBlocked,
        true,
      );
      // The blocks were checked above, which is all flippedConvolution checks.
      if (!phase) throw new Error('a phase of a strided input gradient the NCHWc kernels do not take');
      parts.push(g.node('Reshape', [phase, g.int64s([-1, i / block, n, m, 1, block])]));
    }
    const interleaved = g.node('Concat', parts, [int('axis', 4)]);
    rowParts.push(g.node('Reshape', [interleaved, g.int64s([-1, i / block, n, 1, m * sw * block])]));
  }
  const blocked = g.node('Reshape', [g.node('Concat', rowParts, [int('axis', 3)]), g.int64s([-1, i, h, wd])]);
  return g.nodeN('ReorderOutput', [blocked], 1, [int('channels', i)], NCHWC_DOMAIN)[0];
}

/**
 * A kernel held blocked with each of its B×B tiles ([Bi][Bo] → [Bo][Bi]) transposed, by onnxruntime's
 * output reorder: the tiles seen as images of B rows, one column and B channels, blocked. An
 * element-by-element Transpose of the same took three times as long (simple_cnn's block5_conv:
 * 0.67 ms a step).
 */
function transposedTiles(g: GraphBuilder, w: string): string {
  const block = g.kernels.nchwcBlock;
  const tiles = g.node('Reshape', [w, g.int64s([-1, block, block, 1])]);
  return g.nodeN('ReorderOutput', [tiles], 1, [int('channels', block)], NCHWC_DOMAIN)[0];
}

/**
 * dy [N, C, h, w] reordered to blocks, with (stride − 1) zeros after each of its rows and columns
 * (written by one Pad of the blocked view, so the reorder is dy's own, shared with the kernel
 * gradient) and `cut` rows and columns taken off the end: the input gradient of a strided
 * convolution is the stride-1 convolution of that by the flipped kernel (conv.ts, spreadPays).
 */
function zeroInserted(
  g: GraphBuilder,
  dy: { name: string; dims: number[] },
  [sh, sw]: number[],
  cut: number[],
): string {
  const block = g.kernels.nchwcBlock;
  const [c, h, w] = dy.dims;
  const view = g.node('Reshape', [reorderInput(g, dy.name), g.int64s([-1, c / block, h, 1, w, 1, block])]);
  const spread = g.node('Pad', [view, g.int64s([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, sh - 1, 0, sw - 1, 0])]);
  const [H, W] = [h * sh - cut[0], w * sw - cut[1]];
  let out = g.node('Reshape', [spread, g.int64s([-1, c / block, h * sh, w * sw, block])]);
  if (cut[0] > 0 || cut[1] > 0) out = g.node('Slice', [out, g.int64s([0, 0]), g.int64s([H, W]), g.int64s([2, 3])]);
  return g.node('Reshape', [out, g.int64s([-1, c, H, W])]);
}

/**
 * The kernel gradient's convolution (conv.ts) on the NCHWc kernels: the input x [N, Ci, H, W]
 * seen as [Ci, N, H, W] blocked over N, and dy [N, Co, oh, ow] as a kernel [Co, N, oh, ow] blocked
 * OIHWBiBo. Both views are built with onnxruntime's ReorderInput and transposes of whole blocks
 * (element-by-element transposes of the same took three to eight times as long); the forward
 * pass's `pads` are written into the input (padBlocked), and `attrs` are the window without them.
 * The output is [Ci, Co, ·, ·]. Null when the graph's batches or Co do not fit the blocks.
 */
export function batchBlockedConvolution(
  g: GraphBuilder,
  x: { name: string; dims: number[] },
  dy: string,
  [co, oh, ow]: number[],
  pads: number[],
  attrs: Attribute[],
  blockedKernel?: { kernel: [number, number]; rows: number; columns: number },
): string | null {
  const block = g.kernels.nchwcBlock;
  if (!layoutFor({ out: co, in: 'batch', kernel: [oh, ow], group: 1 }, g.kernels)) return null;
  // dy's channels short of a block: zero ones appended (padOutputs), dropped by the output reorder.
  const extra = wholeBlocks(co, block) - co;
  const grad = extra > 0 ? g.node('Pad', [dy, g.int64s([0, 0, 0, 0, 0, extra, 0, 0])]) : dy;
  const blocks = wholeBlocks(co, block) / block;
  // x: [Ci, N, H, W] (whole H×W planes move), then blocked over N.
  const [ci, h, w] = x.dims;
  // The output's columns: dy's columns are spread by the forward stride (this window's dilation),
  // and the forward dilation is this window's stride.
  const [stride, dilation] = [attribute(attrs, 'strides', 1), attribute(attrs, 'dilations', 1)];
  const columns = Math.floor((w + pads[1] + pads[3] - (ow - 1) * dilation - 1) / stride) + 1;
  const widen = onePassColumns(g, columns, stride) - columns;
  const padded = [pads[0], pads[1], pads[2], pads[3] + widen];
  const swapped = g.node('Transpose', [x.name], [ints('perm', [1, 0, 2, 3])]);
  const input = padBlocked(g, reorderInput(g, swapped), [ci, h, w], padded);
  // dy: blocked over Co ([N][Co/B][oh][ow][Bo]), then [Co/B][N/B][oh][ow][Bn][Bo]: Bo blocks move whole.
  const blockedGrad = g.node(
    'Transpose',
    [g.node('Reshape', [reorderInput(g, grad), g.int64s([-1, block, blocks, oh, ow, block])])],
    [ints('perm', [2, 0, 3, 4, 1, 5])],
  );
  const convolve = (xv: string, kv: string, rows: number) =>
    g.nodeN(
      'Conv',
      [xv, g.node('Reshape', [kv, g.int64s([blocks * block, -1, rows, ow])])],
      1,
      [...attrs.filter((a) => a.name !== 'kernel_shape'), ints('kernel_shape', [rows, ow]), int('group', 1)],
      NCHWC_DOMAIN,
    )[0];
  const rows = bandRows(g, [blocks, oh, ow], attrs);
  let y: string;
  if (rows >= oh) y = convolve(input, blockedGrad, oh);
  else {
    // Bands of dy's rows, each with the input rows it meets, summed after (bandRows).
    const [hp, wp] = [h + padded[0] + padded[2], w + padded[1] + padded[3]];
    const out = hp - oh + 1;
    const input5 = g.node('Reshape', [input, g.int64s([ci, -1, hp, wp, block])]);
    const band = (v: string, from: number, to: number) =>
      g.node('Slice', [v, g.int64s([from]), g.int64s([to]), g.int64s([2])]);
    const region = (r0: number, r1: number, c0: number, c1: number) =>
      g.node('Reshape', [
        g.node('Slice', [input5, g.int64s([r0, c0]), g.int64s([r1, c1]), g.int64s([2, 3])]),
        g.int64s([ci, -1, r1 - r0, c1 - c0]),
      ]);
    const apart = lastColumnApart(g, columns);
    const parts: string[] = [];
    for (let r0 = 0; r0 < oh; r0 += rows) {
      const r1 = Math.min(r0 + rows, oh);
      const dyBand = band(blockedGrad, r0, r1);
      if (apart) {
        // The others from the band one column narrower, the last from the band exactly dy's width,
        // side by side in the blocked layout.
        const rest = convolve(region(r0, r1 + out - 1, 0, wp - 1), dyBand, r1 - r0);
        const last = convolve(region(r0, r1 + out - 1, columns - 1, columns - 1 + ow), dyBand, r1 - r0);
        const view = (v: string, n: number) => g.node('Reshape', [v, g.int64s([ci, -1, out, n, block])]);
        const joined = g.node('Concat', [view(rest, columns - 1), view(last, 1)], [int('axis', 3)]);
        parts.push(g.node('Reshape', [joined, g.int64s([ci, -1, out, columns])]));
        continue;
      }
      const xBand = g.node('Reshape', [band(input5, r0, r1 + out - 1), g.int64s([ci, -1, r1 - r0 + out - 1, wp])]);
      parts.push(convolve(xBand, dyBand, r1 - r0));
    }
    y = g.node('Sum', parts);
  }
  if (blockedKernel) return kernelFromBlocked(g, y, [co, ci], { ...blockedKernel, columns: columns + widen });
  const plain = g.nodeN('ReorderOutput', [y], 1, [int('channels', co)], NCHWC_DOMAIN)[0];
  return widen > 0 ? g.node('Slice', [plain, g.int64s([0]), g.int64s([columns]), g.int64s([3])]) : plain;
}

/** The output columns MLAS' AVX-512 NCHWc kernel computes together in one pass over the kernel. */
const COLUMNS_AT_ONCE = 6;

/**
 * The columns a kernel gradient's convolution computes so that `columns` (the kernel's width, and
 * any the forward pass never reached) take as few passes over dy as they can. MLAS' AVX-512 kernel
 * computes an output row's columns six at a time, then the rest by three, two and one, each pass
 * reading the whole "kernel" — here dy, the largest operand — again: five columns are two passes
 * (3 + 2), six are one. So a 5×5 kernel's gradient computes six columns, the sixth over a column of
 * zeros appended to the input, and cuts it off. One such convolution in isolation (32 channels, a
 * band of 8 rows at 32×32): 4.4 → 3.1 ms; simple_cnn's block2 kernel gradients at 64×64 14.0 → 11.5
 * and 7.1 → 6.0 ms (the profiler); whole steps, alternated: lenet5 −7% and −6% at 32×32 and 64×64,
 * simpler_cnn −4% at 64×64, simple_cnn −1%. Seven columns (6 + 1) gain nothing by nine or twelve.
 * The AVX2 kernel (blocks of 8) goes by three, where widening saves no pass.
 */
function onePassColumns(g: GraphBuilder, columns: number, stride: number): number {
  const rest = columns % COLUMNS_AT_ONCE;
  if (g.kernels.nchwcBlock !== 16 || stride !== 1 || rest < 4) return columns;
  return columns - rest + COLUMNS_AT_ONCE;
}

/**
 * Whether a banded kernel gradient (bandRows) computes its last column by a convolution of its own,
 * where the columns are one more than a whole number of passes (a 7×7 kernel: 6 + 1). MLAS computes
 * that column alone by a path that checks bounds at every kernel column, over dy (the kernel) read
 * again: simple_cnn's block1_conv2 at 64×64, 16 bands of 2.2 ms each. A convolution of a band
 * exactly dy's width computes it for about a third of that, and the other six take one pass over
 * a band one column narrower; the two slices of the band cost a copy more. Measured at 64×64
 * (the profiler): block1_conv2's kernel-gradient convolutions 35.7 → 25.5 ms, slices 5.2 → 9.0;
 * whole steps, alternated, 312.5 → 305.2 ms (−2.3%). Unbanded kernel gradients (every layer at 32×32 and
 * 20×20) would need both copies of the whole input, and gained nothing measurable so.
 */
function lastColumnApart(g: GraphBuilder, columns: number): boolean {
  return g.kernels.nchwcBlock === 16 && columns > COLUMNS_AT_ONCE && columns % COLUMNS_AT_ONCE === 1;
}

/** The second value of a window attribute (its width's), or `fallback` where absent. */
const attribute = (attrs: Attribute[], name: string, fallback: number) =>
  Number(attrs.find((a) => a.name === name)?.ints?.[1] ?? fallback);

/**
 * The kernel gradient held blocked (weight-layout.ts) from the blocked output y of its convolution,
 * [Ci][Co/B][rows][columns][Bo] (rows and columns beyond the kernel's cut off): one transpose that moves
 * whole blocks, where the plain gradient took an output reorder and a transpose.
 */
function kernelFromBlocked(
  g: GraphBuilder,
  y: string,
  [co, ci]: number[],
  { kernel: [kh, kw], rows, columns }: { kernel: [number, number]; rows: number; columns: number },
): string {
  const block = g.kernels.nchwcBlock;
  const view = g.node('Reshape', [y, g.int64s([ci / block, block, co / block, rows, columns, block])]);
  const cut =
    rows > kh || columns > kw ? g.node('Slice', [view, g.int64s([0, 0]), g.int64s([kh, kw]), g.int64s([3, 4])]) : view;
  const blocked = g.node('Transpose', [cut], [ints('perm', [2, 0, 3, 4, 1, 5])]);
  return g.node('Reshape', [blocked, g.int64s([co, ci, kh, kw])]);
}

/** A kernel gradient [Ci, Co, kh, kw] (a plain convolution's) as a kernel held blocked, [O/B][I/B][kh][kw][Bi][Bo]. */
export function blockedFromSwapped(g: GraphBuilder, dw: string, [co, ci, kh, kw]: number[]): string {
  const block = g.kernels.nchwcBlock;
  const view = g.node('Reshape', [dw, g.int64s([ci / block, block, co / block, block, kh, kw])]);
  const blocked = g.node('Transpose', [view], [ints('perm', [2, 0, 4, 5, 1, 3])]);
  return g.node('Reshape', [blocked, g.int64s([co, ci, kh, kw])]);
}

/** A kernel held blocked, [O/B][I/B][kh][kw][Bi][Bo], as [O, I, kh, kw] (for the plain convolutions). */
export function plainFromBlocked(g: GraphBuilder, w: string, [o, i, kh, kw]: number[]): string {
  const block = g.kernels.nchwcBlock;
  const view = g.node('Reshape', [w, g.int64s([o / block, i / block, kh, kw, block, block])]);
  const plain = g.node('Transpose', [view], [ints('perm', [0, 5, 1, 4, 2, 3])]);
  return g.node('Reshape', [plain, g.int64s([o, i, kh, kw])]);
}

/** A kernel gradient's dy is cut into bands of rows once the blocks read together are larger than this, */
const BAND_ABOVE = 4 * 2 ** 20;
/** into bands of about this size per block. */
const BAND_BYTES = 2 ** 20;
/** Blocks of output channels onnxruntime's NCHWc kernel computes at once (MLAS' filter set). */
const FILTER_BLOCKS_AT_ONCE = 4;

/**
 * Rows of dy per band of a kernel gradient's convolution. Its "kernel" (dy: batch × rows ×
 * columns × block values per block of output channels, up to four blocks computed together) is
 * read whole for every output row, and once it outgrows the core's cache it comes from memory each
 * time (simple_cnn's first layers at 64×64: 17 MB). Bands of dy's rows, each with the input rows it
 * meets, summed after, keep it in the cache for a copy of the bands and a sum. Measured: one core's
 * time for a step of simple_cnn at 64×64 −13%, resnet_small's −7% (dy over 4 MB in one block);
 * counting the blocks read together, the 32-channel layers at 32×32 (two blocks of 4 MB) too:
 * simple_cnn's kernel gradients at 64×64 −12% (block2's 31.9 → 20.0 ms), simpler_cnn's block2_conv1
 * 15.3 → 10.6 ms, resnet_small's stage2_conv2 13.0 → 9.9 ms (the profiler, 2 threads). Where dy
 * stays under 4 MB (every layer at 20×20) bands gained nothing, and the sizes stay whole; so do
 * strided or dilated windows.
 */
function bandRows(g: GraphBuilder, [blocks, oh, ow]: number[], attrs: Attribute[]): number {
  const unit = (name: string) => (attrs.find((a) => a.name === name)?.ints ?? []).every((v) => Number(v) === 1);
  // A graph without a fixed batch (other batch sizes than the run's) takes the default batch.
  const batch = g.kernels.batch ?? TRAINING_OPTION_TABLE.batchSize.default;
  const rowBytes = g.kernels.nchwcBlock * batch * ow * 4;
  const read = rowBytes * oh * Math.min(blocks, FILTER_BLOCKS_AT_ONCE);
  if (!unit('strides') || !unit('dilations') || read <= BAND_ABOVE) return oh;
  return Math.max(1, Math.floor(BAND_BYTES / rowBytes));
}

/**
 * Every `strides`-th row and column of x [N, C, H, W] (a strided 1×1 kernel's gradient reads only
 * those), by the NCHWc kernels' pooling over one value from the input the forward convolution has
 * reordered already, then reordered back: resnet_small's stage2 projection at 64×64 2.5 ms by a
 * Slice with steps, 0.7 so. Null where C is not whole blocks (the forward pass reorders no input).
 */
export function subsampled(g: GraphBuilder, x: { name: string; dims: number[] }, strides: number[]): string | null {
  const [c] = x.dims;
  const block = g.kernels.nchwcBlock;
  if (block === 0 || c % block !== 0) return null;
  const [y] = g.nodeN(
    'AveragePool',
    [reorderInput(g, x.name)],
    1,
    [ints('kernel_shape', [1, 1]), ints('strides', strides)],
    NCHWC_DOMAIN,
  );
  return g.nodeN('ReorderOutput', [y], 1, [int('channels', c)], NCHWC_DOMAIN)[0];
}

/**
 * A depthwise kernel's gradient (conv.ts: each channel's input planes convolved with the same
 * channel's dy planes, summed over the batch) on the NCHWc depthwise kernel: the N·Ci planes of x,
 * padded, each convolved with its own plane of dy as a depthwise convolution of N·Ci channels, then
 * summed over the batch. Its groups are the batch's planes, so the graph's batch must be fixed
 * (KernelOptions.batch). The grouped convolution it replaces (one group per channel over all its
 * planes) runs on onnxruntime's plain kernel, which unfolds every group's input first: three to
 * four times as long in isolation at mini_xception's first separable layer. Output [1, Ci, kh, kw],
 * as that convolution's; null where the shapes do not fit the blocks or the batch is not fixed.
 */
export function depthwisePlanesConvolution(
  g: GraphBuilder,
  x: { name: string; dims: number[] },
  dy: string,
  [oh, ow]: number[],
  [kh, kw]: number[],
  pads: number[],
  attrs: Attribute[],
): string | null {
  const { nchwcBlock: block, batch } = g.kernels;
  const [ci, h, w] = x.dims;
  if (block === 0 || !batch || (batch * ci) % block !== 0) return null;
  const planes = batch * ci;
  const asPlanes = (v: string, [ph, pw]: number[]) => g.node('Reshape', [v, g.int64s([1, planes, ph, pw])]);
  const input = padBlocked(g, reorderInput(g, asPlanes(x.name, [h, w])), [1, h, w], pads);
  // Reordered, dy's planes [1][planes/B][oh][ow][B] are already a depthwise kernel blocked OIHWBo.
  const kernel = g.node('Reshape', [reorderInput(g, asPlanes(dy, [oh, ow])), g.int64s([planes, 1, oh, ow])]);
  const [y] = g.nodeN('Conv', [input, kernel], 1, [...attrs, int('group', planes)], NCHWC_DOMAIN);
  const out = g.nodeN('ReorderOutput', [y], 1, [int('channels', planes)], NCHWC_DOMAIN)[0];
  // [1, N·Ci, kh, kw] → summed over the batch → [1, Ci, kh, kw]
  return g.node(
    'ReduceSum',
    [g.node('Reshape', [out, g.int64s([batch, 1, ci, kh, kw])]), g.int64s([0])],
    [int('keepdims', 0)],
  );
}

/**
 * A blocked value with zeros around its H and W by `pads` (top, left, bottom, right): an input
 * [N, C, H, W] ("batch first", padInput) or the kernel gradient's input view [Ci, N, H, W] (its data
 * laid out [Ci][N/B][H][W][B]). There dy, the "kernel", is as large as the input, so with the
 * forward pass's padding left to the convolution every one of its few output columns reaches into
 * the padding, and onnxruntime's NCHWc kernel computes each column on its own, checking bounds at
 * every kernel column; with the zeros written into the input it computes up to six columns at a
 * time (block1_conv2 of simple_cnn: 2.3 times its forward pass's time before, about one after).
 */
function padBlocked(
  g: GraphBuilder,
  x: string,
  [ci, h, w]: number[],
  [top, left, bottom, right]: number[],
  order: 'channels first' | 'batch first' = 'channels first',
): string {
  const batchFirst = order === 'batch first';
  if (top === 0 && left === 0 && bottom === 0 && right === 0) return x;
  const block = g.kernels.nchwcBlock;
  const view = batchFirst ? [-1, ci / block, h, w, block] : [ci, -1, h, w, block];
  const blocked = g.node('Reshape', [x, g.int64s(view)]);
  const padded = g.node('Pad', [blocked, g.int64s([0, 0, top, left, 0, 0, 0, bottom, right, 0])]);
  const [hp, wp] = [h + top + bottom, w + left + right];
  return g.node('Reshape', [padded, g.int64s(batchFirst ? [-1, ci, hp, wp] : [ci, -1, hp, wp])]);
}
