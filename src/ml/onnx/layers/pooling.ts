import { int, ints, text, type Attribute } from '../graph';
import type { BackwardContext, LayerOp, Value } from '../layer-op';
import { outputPadding, pair, windowOf, type Window } from './window';

/**
 * Pooling as TensorFlow does it: average pooling over the values inside the image only (padding
 * not counted), max pooling with padding that never wins. Gradients: an average pool spreads each
 * output's gradient over its window (divided by the values it averaged); a max pool sends it to the
 * position that won, added up where windows overlap.
 */

function poolWindow(ctx: { config: Record<string, unknown>; inputs: Value[] }): Window {
  const [, h, w] = ctx.inputs[0].dims;
  const kernel = pair(ctx.config.poolSize);
  // Pooling has no dilation: windowOf reads dilationRate, absent here.
  return windowOf({ padding: ctx.config.padding }, [h, w], kernel, pair(ctx.config.strides ?? ctx.config.poolSize));
}

function poolAttributes(w: Window): Attribute[] {
  return [ints('kernel_shape', w.kernel), ints('strides', w.strides), ints('pads', w.pads)];
}

/** 1 / (values each output position averages), [1, 1, oh, ow]. */
function inverseCounts(w: Window): Float32Array {
  const valid = (a: 0 | 1, o: number) => {
    const start = o * w.strides[a] - w.pads[a];
    return Math.min(start + w.kernel[a], w.input[a]) - Math.max(start, 0);
  };
  const out = new Float32Array(w.output[0] * w.output[1]);
  for (let y = 0; y < w.output[0]; y++)
    for (let x = 0; x < w.output[1]; x++) out[y * w.output[1] + x] = 1 / (valid(0, y) * valid(1, x));
  return out;
}

function averageGradient(ctx: BackwardContext, dy: string, w: Window): string {
  const g = ctx.g;
  const [c, h, width] = ctx.inputs[0].dims;
  const [oh, ow] = w.output;
  const scaled = g.node('Mul', [dy, g.constant([1, 1, oh, ow], inverseCounts(w))]);
  const tiles = w.kernel[0] === w.strides[0] && w.kernel[1] === w.strides[1] && w.pads[0] === 0 && w.pads[1] === 0;
  if (tiles && oh * ow <= 9) {
    // Tiling windows over a small map (the last blocks of simple_cnn): each gradient copied over its
    // block by a nearest-neighbour resize, cut or padded to the input (onnxruntime's fastest here).
    const resized = g.node(
      'Resize',
      [scaled, '', g.constant([4], Float32Array.of(1, 1, ...w.strides))],
      [text('mode', 'nearest')],
    );
    return fitTo(g, resized, [oh * w.strides[0], ow * w.strides[1]], [h, width]);
  }
  // Else a transposed convolution by a kernel of ones per channel (faster than Expand or Resize on
  // larger maps).
  const ones = g.constant([c, 1, ...w.kernel], new Float32Array(c * w.kernel[0] * w.kernel[1]).fill(1));
  return g.node(
    'ConvTranspose',
    [scaled, ones],
    [...poolAttributes(w), ints('output_padding', outputPadding({ ...w, dilations: [1, 1] })), int('group', c)],
  );
}

/** Cuts a [N, C, h, w] value down or pads it with zeros at the end to [N, C, H, W]. */
function fitTo(g: BackwardContext['g'], v: string, [h, w]: number[], [H, W]: number[]): string {
  let out = v;
  if (h > H || w > W)
    out = g.node('Slice', [out, g.int64s([0, 0]), g.int64s([Math.min(h, H), Math.min(w, W)]), g.int64s([2, 3])]);
  if (h < H || w < W) out = g.node('Pad', [out, g.int64s([0, 0, 0, 0, 0, 0, Math.max(H - h, 0), Math.max(W - w, 0)])]);
  return out;
}

export const averagePooling2d: LayerOp = {
  forward: (ctx) =>
    ctx.g.node('AveragePool', [ctx.inputs[0].name], [...poolAttributes(poolWindow(ctx)), int('count_include_pad', 0)]),
  backward: (ctx, dy) => [averageGradient(ctx, dy, poolWindow(ctx))],
};

export const maxPooling2d: LayerOp = {
  forward(ctx) {
    const attrs = poolAttributes(poolWindow(ctx));
    if (ctx.mode !== 'train') return ctx.g.node('MaxPool', [ctx.inputs[0].name], attrs);
    const [y, indices] = ctx.g.nodeN('MaxPool', [ctx.inputs[0].name], 2, attrs);
    ctx.save('indices', indices);
    return y;
  },
  backward(ctx, dy) {
    const g = ctx.g;
    const [x] = ctx.inputs;
    // MaxPool's indices count over the whole unpadded tensor, batch and channels included.
    const flat = g.int64s([-1]);
    const zeros = g.node('Reshape', [g.node('ConstantOfShape', [g.node('Shape', [x.name])]), flat]);
    const scattered = g.node(
      'ScatterElements',
      [zeros, g.node('Reshape', [ctx.saved('indices'), flat]), g.node('Reshape', [dy, flat])],
      [int('axis', 0), text('reduction', 'add')],
    );
    return [g.node('Reshape', [scattered, g.int64s([-1, ...x.dims])])];
  },
};

export const globalAveragePooling2d: LayerOp = {
  forward: (ctx) => ctx.g.node('Flatten', [ctx.g.node('GlobalAveragePool', [ctx.inputs[0].name])], [int('axis', 1)]),
  backward(ctx, dy) {
    const g = ctx.g;
    const [c, h, w] = ctx.inputs[0].dims;
    const perValue = g.node('Mul', [g.node('Reshape', [dy, g.int64s([-1, c, 1, 1])]), g.scalar(1 / (h * w))]);
    return [g.node('Expand', [perValue, g.int64s([1, c, h, w])])];
  },
};
