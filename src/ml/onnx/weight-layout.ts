import type { tf } from '../tf';

/**
 * tfjs keeps convolution kernels as [kh, kw, in, out] (NHWC), ONNX as [out, in, kh, kw] (NCHW).
 * A depthwise kernel [kh, kw, in, multiplier] is laid out as a conv kernel [kh, kw, 1, in × multiplier]
 * whose output channel i × multiplier + m is ONNX's grouped channel, so the one transpose serves
 * both. Every other weight (dense kernels, biases, batch-norm vectors) has the same layout in both.
 * Each conversion returns a new array.
 */
export interface WeightLayout {
  /** The channel block of a kernel held blocked for onnxruntime's NCHWc kernels (nchwc.ts); absent: plain. */
  block?: number;
  onnxDims(tfShape: number[]): number[];
  toOnnx(values: Float32Array, tfShape: number[]): Float32Array;
  fromOnnx(values: Float32Array, tfShape: number[]): Float32Array;
}

/** Where the kernel value of output o, input i, row y, column x lies in an ONNX-side layout. */
type KernelIndex = (o: number, i: number, y: number, x: number) => number;

/** [kh, kw, in, out] ⇄ an ONNX-side layout given by `at`; `fromOnnx` true reads the ONNX side. */
function moveKernel(values: Float32Array, [kh, kw, cin, cout]: number[], at: KernelIndex, fromOnnx: boolean) {
  const out = new Float32Array(values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) {
          const tfIndex = ((y * kw + x) * cin + i) * cout + o;
          if (fromOnnx) out[tfIndex] = values[at(o, i, y, x)];
          else out[at(o, i, y, x)] = values[tfIndex];
        }
  return out;
}

/** [kh, kw, in, out] ⇄ [out, in, kh, kw]. */
function transposeKernel(values: Float32Array, shape: number[], fromOnnx: boolean): Float32Array {
  const [kh, kw, cin] = shape;
  return moveKernel(values, shape, (o, i, y, x) => ((o * cin + i) * kh + y) * kw + x, fromOnnx);
}

const CONV_KERNEL: WeightLayout = {
  onnxDims: ([kh, kw, cin, cout]) => [cout, cin, kh, kw],
  toOnnx: (v, s) => transposeKernel(v, s, false),
  fromOnnx: (v, s) => transposeKernel(v, s, true),
};

/**
 * A convolution kernel held as onnxruntime's NCHWc convolution reads it, OIHWBiBo
 * ([O/B][I/B][kh][kw][Bi][Bo], dims still [O, I, kh, kw]): the forward passes then take it as it is,
 * where a kernel held [O, I, kh, kw] was reordered by every forward pass (a tenth of a forward
 * pass's kernel time for simple_cnn at 20×20, paid by each step, precise batch-norm's batches and
 * validation's). Only kernels of whole blocks of input and output channels.
 */
function blockedConvKernel(block: number): WeightLayout {
  const blockedIndex = ([kh, kw, cin]: number[]): KernelIndex => {
    return (o, i, y, x) => {
      const tile = ((Math.floor(o / block) * (cin / block) + Math.floor(i / block)) * kh + y) * kw + x;
      return (tile * block + (i % block)) * block + (o % block);
    };
  };
  return {
    block,
    onnxDims: CONV_KERNEL.onnxDims,
    toOnnx: (v, s) => moveKernel(v, s, blockedIndex(s), false),
    fromOnnx: (v, s) => moveKernel(v, s, blockedIndex(s), true),
  };
}

const DEPTHWISE_KERNEL: WeightLayout = {
  onnxDims: ([kh, kw, cin, mult]) => [cin * mult, 1, kh, kw],
  toOnnx: (v, [kh, kw, cin, mult]) => transposeKernel(v, [kh, kw, 1, cin * mult], false),
  fromOnnx: (v, [kh, kw, cin, mult]) => transposeKernel(v, [kh, kw, 1, cin * mult], true),
};

/**
 * Copies even where the layout is the same: tfjs' cpu backend keeps the very array a tensor is made
 * from (and dataSync may hand out its own), and the engine's buffers are rewritten every step.
 */
const SAME: WeightLayout = {
  onnxDims: (s) => s,
  toOnnx: (v) => v.slice(),
  fromOnnx: (v) => v.slice(),
};

/** The suffix a tfjs weight is known by in its layer: kernel, bias, gamma, moving_mean, … */
export function weightKey(w: tf.LayerVariable): string {
  return w.originalName.split('/').pop()!;
}

/**
 * How a graph holds a weight of shape `tfShape`. `block`: the NCHWc block of a graph that takes its
 * weights as inputs and runs blocked convolutions (0: every kernel plain). A Conv2D kernel of whole
 * blocks of channels, larger than 1×1, is then held blocked.
 */
export function layoutOf(layerClass: string, key: string, tfShape: number[], block: number): WeightLayout {
  if (key === 'depthwise_kernel') return DEPTHWISE_KERNEL;
  if (layerClass === 'Conv2D' && key === 'kernel' && block > 0) {
    const [kh, kw, cin, cout] = tfShape;
    if (kh * kw > 1 && cin % block === 0 && cout % block === 0) return blockedConvKernel(block);
  }
  if (key === 'pointwise_kernel' || (layerClass === 'Conv2D' && key === 'kernel')) return CONV_KERNEL;
  return SAME;
}

/** The ONNX name of a layer's weight: unique within a model, as layer names are. */
export function weightName(layer: tf.layers.Layer, key: string): string {
  return `${layer.name}/${key}`;
}
