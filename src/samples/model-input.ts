import type { ImageShape } from '../image-shape';
import { SCALED } from './scaled';
import { decodeToShape } from '../images/decode';

/**
 * An image file → a model's input, exactly as training saw it: decoded, resized to the shape,
 * gray or RGB, and scaled by the table training reads rows with (the same floats, bit for bit).
 * Kept free of TensorFlow.js so that a decode thread can load it cheaply.
 */
export async function imageToModelInput(
  bytes: Uint8Array,
  shape: ImageShape,
  maxPixels?: number,
): Promise<Float32Array> {
  const pixels = await decodeToShape(bytes, shape, maxPixels);
  const xs = new Float32Array(pixels.length);
  for (let k = 0; k < pixels.length; k++) xs[k] = SCALED[pixels[k]];
  return xs;
}
