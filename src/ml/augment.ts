import type { ImageShape } from '../image-shape';
import { mulberry32 } from './seeded';
import type { Augmentation } from './augment-options';

export { ORIGINAL_AUGMENTATION, type Augmentation } from './augment-options';

/**
 * Data augmentation on the fly, per batch, as the original Keras project trained its models
 * (ImageDataGenerator): each image gets its own random rotation, shifts and zoom (and a horizontal
 * flip when asked), drawn from a seeded stream so that a run is reproducible, and resampled
 * bilinearly with the nearest edge pixel filling what comes from outside the image (Keras'
 * fill_mode "nearest"). Validation, test and the batch-norm statistics always see the images as
 * stored.
 */

/**
 * The 8 numbers tf.image.transform takes for one image: the map from an output pixel (x, y) to
 * the input point it samples, here centre → inverse(zoom · rotation) → shift → centre.
 */
export function transformFor(a: Augmentation, shape: ImageShape, random: () => number): number[] {
  const uniform = (r: number) => (2 * random() - 1) * r;
  const theta = (uniform(a.rotation) * Math.PI) / 180;
  const tx = uniform(a.widthShift) * shape.width;
  const ty = uniform(a.heightShift) * shape.height;
  const zx = 1 + uniform(a.zoom);
  const zy = 1 + uniform(a.zoom);
  const flip = a.flip && random() < 0.5 ? -1 : 1;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  // Input = R · Z · F · (output − centre) + centre − shift.
  const m00 = cos * zx * flip;
  const m01 = -sin * zy;
  const m10 = sin * zx * flip;
  const m11 = cos * zy;
  const cx = (shape.width - 1) / 2;
  const cy = (shape.height - 1) / 2;
  return [m00, m01, cx - m00 * cx - m01 * cy - tx, m10, m11, cy - m10 * cx - m11 * cy - ty, 0, 0];
}

/**
 * Resamples one image: each output pixel reads the input at the transform's point, bilinearly,
 * the point clamped to the image first (fill "nearest"). What tf.image.transform(…, "bilinear",
 * "nearest") computes — the unit test holds this to it — written here because its kernels cost
 * 234 ns a pixel on wasm (6 ms for a batch of 64 20×20 images, more than a LeNet step) and the
 * cpu backend's fills every image after the first with zeros; this loop costs ~17 ns.
 */
export function warpImage(
  src: Float32Array,
  dst: Float32Array,
  offset: number,
  t: readonly number[],
  { height: h, width: w, channels: c }: ImageShape,
): void {
  const [a0, a1, a2, b0, b1, b2] = t;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = Math.min(Math.max(a0 * x + a1 * y + a2, 0), w - 1);
      const sy = Math.min(Math.max(b0 * x + b1 * y + b2, 0), h - 1);
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(x0 + 1, w - 1);
      const y1 = Math.min(y0 + 1, h - 1);
      const fx = sx - x0;
      const fy = sy - y0;
      const out = offset + (y * w + x) * c;
      const p00 = offset + (y0 * w + x0) * c;
      const p01 = offset + (y0 * w + x1) * c;
      const p10 = offset + (y1 * w + x0) * c;
      const p11 = offset + (y1 * w + x1) * c;
      for (let k = 0; k < c; k++) {
        const top = src[p00 + k] + (src[p01 + k] - src[p00 + k]) * fx;
        const bottom = src[p10 + k] + (src[p11 + k] - src[p10 + k]) * fx;
        dst[out + k] = top + (bottom - top) * fy;
      }
    }
  }
}

/** A seeded augmenter: each call warps a batch (N × H × W × C floats) into a new buffer. */
export function augmenter(
  a: Augmentation,
  shape: ImageShape,
  seed: number,
): (xs: Float32Array, n: number) => Float32Array {
  // Its own stream: the shuffle's and the initial weights' do not depend on augmentation.
  const random = mulberry32((seed ^ 0x2545f491) >>> 0);
  const per = shape.height * shape.width * shape.channels;
  return (xs, n) => {
    const out = new Float32Array(n * per);
    for (let i = 0; i < n; i++) warpImage(xs, out, i * per, transformFor(a, shape, random), shape);
    return out;
  };
}
