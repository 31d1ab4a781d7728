import {
  backend_util,
  getGradient,
  registerGradient,
  type GradConfig,
  type NamedAttrMap,
  type Tensor,
} from '@tensorflow/tfjs';
import { tf } from '../tf';

/**
 * tfjs' average pooling divides each window by the values inside the image (padding not counted),
 * but its gradient divides by the whole window (AvgPoolGrad's 1/(kh·kw)) — on a padded border the
 * gradient is not that of the forward pass. TensorFlow and PyTorch divide both by the count; so
 * does mldb: dy is scaled by (kh·kw)/count per output position before tfjs' own gradient, which
 * the onnxruntime engine's gradient then matches.
 */
let installed = false;

function borderFactors(info: backend_util.Conv2DInfo): Float32Array | null {
  const valid = (o: number, stride: number, pad: number, kernel: number, size: number) => {
    const start = o * stride - pad;
    return Math.min(start + kernel, size) - Math.max(start, 0);
  };
  const factors = new Float32Array(info.outHeight * info.outWidth);
  let padded = false;
  for (let y = 0; y < info.outHeight; y++)
    for (let x = 0; x < info.outWidth; x++) {
      const count =
        valid(y, info.strideHeight, info.padInfo.top, info.filterHeight, info.inHeight) *
        valid(x, info.strideWidth, info.padInfo.left, info.filterWidth, info.inWidth);
      factors[y * info.outWidth + x] = (info.filterHeight * info.filterWidth) / count;
      if (count !== info.filterHeight * info.filterWidth) padded = true;
    }
  return padded ? factors : null;
}

export function installAvgPoolGradient(): void {
  if (installed) return;
  const original = getGradient('AvgPool') as GradConfig | undefined;
  if (!original) return;
  registerGradient({
    ...original,
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x] = saved;
      const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
        filterSize: [number, number] | number;
        strides: [number, number] | number;
        pad: 'valid' | 'same' | number;
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
      };
      const shape4 = (x.rank === 3 ? [1, ...x.shape] : x.shape) as [number, number, number, number];
      const info = backend_util.computePool2DInfo(shape4, filterSize, strides, 1, pad, dimRoundingMode);
      const factors = borderFactors(info);
      if (!factors) return original.gradFunc(dy, saved, attrs);
      const scaled = tf.mul(dy as Tensor, tf.tensor3d(factors, [info.outHeight, info.outWidth, 1]));
      return original.gradFunc(scaled, saved, attrs);
    },
  });
  installed = true;
}
