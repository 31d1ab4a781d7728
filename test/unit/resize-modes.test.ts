import sharp from 'sharp';
import { decodeImage, toShape } from '../../src/images/decode';
import { RESIZE_MODES, SHARP_FIT, type ImageShape } from '../../src/image-shape';

/** A 40×16 RGB image (wider than tall) with no black pixel, distinct enough that any wrong crop shows. */
async function wideImage(): Promise<Buffer> {
  const w = 40;
  const h = 16;
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const k = (y * w + x) * 3;
      raw[k] = 40 + x * 5;
      raw[k + 1] = 40 + y * 12;
      raw[k + 2] = 40 + ((x * 7 + y * 3) % 200);
    }
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}

/** sharp's own result for a fit, from the same decoded pixels, with black bars. */
async function sharpFit(png: Buffer, shape: ImageShape, fit: 'fill' | 'cover' | 'contain'): Promise<Buffer> {
  const img = await decodeImage(png);
  let p = sharp(Buffer.from(img.rgb), { raw: { width: img.width, height: img.height, channels: 3 } }).resize(
    shape.width,
    shape.height,
    { fit, background: { r: 0, g: 0, b: 0, alpha: 1 } },
  );
  if (shape.channels === 1) p = p.grayscale().toColourspace('b-w');
  return p.raw().toBuffer();
}

describe('resize modes on a non-square image', () => {
  const square: ImageShape = { height: 10, width: 10, channels: 3 };

  test.each(RESIZE_MODES)("%s is sharp's own fit, pixel for pixel", async (mode) => {
    const png = await wideImage();
    const ours = await toShape(await decodeImage(png), { ...square, resize: mode });
    expect(Buffer.from(ours)).toEqual(await sharpFit(png, square, SHARP_FIT[mode]));
  });

  test('stretch is the default: a shape without a mode resizes as fill did', async () => {
    const png = await wideImage();
    expect(Buffer.from(await toShape(await decodeImage(png), square))).toEqual(await sharpFit(png, square, 'fill'));
  });

  test('the three modes give three different images', async () => {
    const decoded = await decodeImage(await wideImage());
    const out = await Promise.all(RESIZE_MODES.map((m) => toShape(decoded, { ...square, resize: m })));
    expect(new Set(out.map((o) => Buffer.from(o).toString('hex'))).size).toBe(3);
  });

  test('pad letterboxes with black above and below, the whole image between', async () => {
    const decoded = await decodeImage(await wideImage());
    const out = await toShape(decoded, { ...square, resize: 'pad' });
    const row = (y: number) => [...out.subarray(y * 30, (y + 1) * 30)];
    // 40×16 fits 10×4 inside 10×10: three black rows above and below, the image in rows 3–6.
    for (const y of [0, 1, 2, 7, 8, 9]) expect(row(y).every((v) => v === 0)).toBe(true);
    for (const y of [3, 4, 5, 6]) expect(row(y).every((v) => v > 0)).toBe(true);
  });

  test('crop keeps the centred square: its left and right columns are from the middle of the image', async () => {
    const decoded = await decodeImage(await wideImage());
    const out = await toShape(decoded, { ...square, resize: 'crop' });
    // Red grows with x (40 + 5x): the centred 16×16 region spans x 12–27, red about 100–175.
    const reds = Array.from({ length: 10 }, (_, x) => out[(5 * 10 + x) * 3]);
    expect(Math.min(...reds)).toBeGreaterThan(95);
    expect(Math.max(...reds)).toBeLessThan(180);
    const stretched = await toShape(decoded, square);
    expect(stretched[(5 * 10 + 0) * 3]).toBeLessThan(70);
  });

  test('a gray table pads and crops in one channel', async () => {
    const png = await wideImage();
    const gray: ImageShape = { height: 8, width: 12, channels: 1 };
    for (const mode of RESIZE_MODES) {
      const ours = await toShape(await decodeImage(png), { ...gray, resize: mode });
      expect(ours.length).toBe(96);
    }
    const padded = await toShape(await decodeImage(png), { height: 12, width: 8, channels: 1, resize: 'pad' });
    expect([...padded.subarray(0, 8)].every((v) => v === 0)).toBe(true);
  });
});
