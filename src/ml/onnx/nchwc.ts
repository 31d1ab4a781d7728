import { int, ints, type Attribute, type GraphBuilder, type KernelOptions } from './graph';

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
}

type Layout = 'OIHWBiBo' | 'OIHWBo';

/** How onnxruntime's kernels can take this convolution with blocks of `block`, or null. */
function layoutFor(shape: ConvShape, kernels: KernelOptions): Layout | null {
  const block = kernels.nchwcBlock;
  if (block === 0 || shape.out % block !== 0) return null;
  if (shape.in === 'batch') return shape.group === 1 && kernels.batchAligned ? 'OIHWBiBo' : null;
  if (shape.group === 1) {
    if (shape.in < block) return 'OIHWBo'; // the input stays NCHW
    return shape.in % block === 0 ? 'OIHWBiBo' : null;
  }
  return shape.group === shape.in && shape.out === shape.group ? 'OIHWBo' : null; // depthwise
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
): string {
  const block = g.kernels.nchwcBlock;
  const layout = layoutFor(shape, g.kernels);
  const group = [int('group', shape.group)];
  if (!layout) return g.node('Conv', bias ? [x, w, bias] : [x, w], [...attrs, ...group]);
  const input = layout === 'OIHWBo' && shape.group === 1 ? x : g.nodeN('ReorderInput', [x], 1, [], NCHWC_DOMAIN)[0];
  const kernel = reorderKernel(g, w, shape, layout, block);
  const [y] = g.nodeN('Conv', bias ? [input, kernel, bias] : [input, kernel], 1, [...attrs, ...group], NCHWC_DOMAIN);
  return g.nodeN('ReorderOutput', [y], 1, [int('channels', shape.out)], NCHWC_DOMAIN)[0];
}

/**
 * The kernel gradient's convolution (conv.ts) on the NCHWc kernels: the input x [N, Ci, H, W]
 * seen as [Ci, N, H, W] blocked over N, and dy [N, Co, oh, ow] as a kernel [Co, N, oh, ow] blocked
 * OIHWBiBo — each view one transpose, where a transpose and then a reorder would pass over it
 * twice. The output is [Ci, Co, ·, ·]. Null when the graph's batches or Co do not fit the blocks.
 */
export function batchBlockedConvolution(
  g: GraphBuilder,
  x: string,
  dy: string,
  [ci, h, w]: number[],
  [co, oh, ow]: number[],
  attrs: Attribute[],
): string | null {
  const block = g.kernels.nchwcBlock;
  if (!layoutFor({ out: co, in: 'batch', kernel: [oh, ow], group: 1 }, g.kernels)) return null;
  const input = g.node('Reshape', [
    g.node('Transpose', [g.node('Reshape', [x, g.int64s([-1, block, ci, h, w])])], [ints('perm', [2, 0, 3, 4, 1])]),
    g.int64s([ci, -1, h, w]),
  ]);
  const kernel = g.node('Reshape', [
    g.node(
      'Transpose',
      [g.node('Reshape', [dy, g.int64s([-1, block, co / block, block, oh, ow])])],
      [ints('perm', [2, 0, 4, 5, 1, 3])],
    ),
    g.int64s([co, -1, oh, ow]),
  ]);
  const [y] = g.nodeN('Conv', [input, kernel], 1, [...attrs, int('group', 1)], NCHWC_DOMAIN);
  return g.nodeN('ReorderOutput', [y], 1, [int('channels', co)], NCHWC_DOMAIN)[0];
}
