import sharp from 'sharp';
import type { ImageShape } from '../image-shape';

/**
 * A stored row's pixels (height × width × channels bytes, exactly what training reads) as a PNG:
 * what the model sees, not the original file. The browser scales it up without smoothing.
 */
export function pixelsToPng(pixels: Buffer, shape: ImageShape): Promise<Buffer> {
  return sharp(pixels, { raw: { width: shape.width, height: shape.height, channels: shape.channels } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}
