import type { tf } from './tf';

/**
 * Floating-point operations of one forward pass of one sample, counted from the layer graph (a
 * multiply-add is 2): convolutions, separable convolutions and dense layers exactly; batch-norm,
 * activations, pooling and additions as one or a few operations per value. A training step costs
 * about three forward passes (the backward pass computes two gradients per weight layer), which
 * is how `npm run bench -- train` turns samples/s into GFLOP/s.
 */
export function forwardFlops(model: tf.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    const out = ([] as tf.SymbolicTensor[]).concat(layer.output as tf.SymbolicTensor)[0].shape.slice(1) as number[];
    const outValues = out.reduce((a, b) => a * b, 1);
    const inShape = ([] as tf.SymbolicTensor[]).concat(layer.input as tf.SymbolicTensor)[0].shape.slice(1) as number[];
    const config = layer.getConfig() as Record<string, unknown>;
    const kernel = (k: unknown) => (Array.isArray(k) ? k.map(Number) : [Number(k), Number(k)]);
    switch (layer.getClassName()) {
      case 'Conv2D': {
        const [kh, kw] = kernel(config.kernelSize);
        flops += 2 * kh * kw * inShape[2] * outValues;
        break;
      }
      case 'SeparableConv2D': {
        const [kh, kw] = kernel(config.kernelSize);
        const cin = inShape[2];
        const mult = Number(config.depthMultiplier ?? 1);
        flops += 2 * kh * kw * cin * mult * out[0] * out[1] + 2 * cin * mult * outValues;
        break;
      }
      case 'Dense':
        flops += 2 * inShape[inShape.length - 1] * outValues;
        break;
      case 'BatchNormalization':
        flops += 2 * outValues; // folded into a scale and a shift at inference
        break;
      case 'AveragePooling2D':
      case 'MaxPooling2D': {
        const [ph, pw] = kernel(config.poolSize);
        flops += ph * pw * outValues;
        break;
      }
      case 'GlobalAveragePooling2D':
        flops += inShape.reduce((a, b) => a * b, 1);
        break;
      case 'Activation':
      case 'ReLU':
      case 'Add':
        flops += outValues;
        break;
      default:
        break; // input, dropout, flatten: no arithmetic
    }
  }
  return flops;
}
