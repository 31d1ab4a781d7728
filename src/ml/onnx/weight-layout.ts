import type { tf } from '../tf';

/**
 * tfjs keeps convolution kernels as [kh, kw, in, out] (NHWC), ONNX as [out, in, kh, kw] (NCHW).
 * A depthwise kernel [kh, kw, in, multiplier] is laid out as a conv kernel [kh, kw, 1, in × multiplier]
 * whose output channel i × multiplier + m is ONNX's grouped channel, so the one transpose serves
 * both. Every other weight (dense kernels, biases, batch-norm vectors) has the same layout in both.
 * Each conversion returns a new array.
 */
export interface WeightLayout {
  onnxDims(tfShape: number[]): number[];
  toOnnx(values: Float32Array, tfShape: number[]): Float32Array;
  fromOnnx(values: Float32Array, tfShape: number[]): Float32Array;
}

/** [kh, kw, in, out] ⇄ [out, in, kh, kw]; `from` true reads the ONNX order. */
function transposeKernel(values: Float32Array, [kh, kw, cin, cout]: number[], fromOnnx: boolean): Float32Array {
  const out = new Float32Array(values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) {
          const tfIndex = ((y * kw + x) * cin + i) * cout + o;
          const onnxIndex = ((o * cin + i) * kh + y) * kw + x;
          if (fromOnnx) out[tfIndex] = values[onnxIndex];
          else out[onnxIndex] = values[tfIndex];
        }
  return out;
}

const CONV_KERNEL: WeightLayout = {
  onnxDims: ([kh, kw, cin, cout]) => [cout, cin, kh, kw],
  toOnnx: (v, s) => transposeKernel(v, s, false),
  fromOnnx: (v, s) => transposeKernel(v, s, true),
};

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

export function layoutOf(layerClass: string, key: string): WeightLayout {
  if (key === 'depthwise_kernel') return DEPTHWISE_KERNEL;
  if (key === 'pointwise_kernel' || (layerClass === 'Conv2D' && key === 'kernel')) return CONV_KERNEL;
  return SAME;
}

/** The ONNX name of a layer's weight: unique within a model, as layer names are. */
export function weightName(layer: tf.layers.Layer, key: string): string {
  return `${layer.name}/${key}`;
}
