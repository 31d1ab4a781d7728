import sharp from 'sharp';
import type { ImageShape } from '../image-shape';
import { RequestError } from '../http/request-error';

/**
 * A stored row's pixels (height × width × channels bytes, exactly what training reads) as a PNG:
 * what the model sees, not the original file. The browser scales it up without smoothing.
 * Pixels of another length (or none) mean a damaged row: a 422 naming it, never a guess at a shape.
 */
export function pixelsToPng(pixels: Buffer | null, shape: ImageShape, row: string): Promise<Buffer> {
  const expected = shape.height * shape.width * shape.channels;
  if (!pixels || pixels.length !== expected) {
    throw new RequestError(
      422,
      'damaged_row',
      `${row} holds ${pixels ? `${pixels.length} bytes of pixels` : 'no pixels'}, not the ${expected} of its ` +
        `table's ${shape.height}×${shape.width}×${shape.channels} shape: the row is damaged (re-import it)`,
    );
  }
  return sharp(pixels, { raw: { width: shape.width, height: shape.height, channels: shape.channels } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}
