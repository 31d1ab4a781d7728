import sharp from 'sharp';
import { decodeImage, decodeToShape, DecodeError, rgbToGray } from '../../src/images/decode';
import { sniffFormat } from '../../src/images/formats';
import { grayPng, rgbPng } from '../helpers/fixtures';

async function encodeWithSharp(
  raw: Buffer,
  w: number,
  h: number,
  format: 'webp' | 'gif' | 'tiff' | 'jpeg',
): Promise<Buffer> {
  const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
  if (format === 'webp') return img.webp({ lossless: true }).toBuffer();
  if (format === 'gif') return img.gif().toBuffer();
  if (format === 'tiff') return img.tiff().toBuffer();
  return img.jpeg({ quality: 95 }).toBuffer();
}

describe('decodeImage', () => {
  test('PNG gray keeps exact pixel values', async () => {
    const bytes = grayPng(5, 4, 7);
    const img = await decodeImage(bytes);
    expect(img).toMatchObject({ format: 'png', width: 5, height: 4, sourceChannels: 1 });
    const direct = await sharp(bytes).raw().toBuffer();
    const gray = await decodeToShape(bytes, { height: 4, width: 5, channels: 1 });
    expect(Buffer.from(gray)).toEqual(
      direct.length === 20 ? direct : Buffer.from(rgbToGray(new Uint8Array(direct), 20)),
    );
  });

  test.each(['webp', 'gif', 'tiff', 'jpeg'] as const)('%s decodes through its format', async (format) => {
    const raw = Buffer.alloc(6 * 6 * 3, 128);
    const bytes = await encodeWithSharp(raw, 6, 6, format);
    expect(sniffFormat(bytes)).toBe(format);
    const img = await decodeImage(bytes);
    expect(img).toMatchObject({ format, width: 6, height: 6 });
    const px = await decodeToShape(bytes, { height: 6, width: 6, channels: 3 });
    expect(px.length).toBe(108);
    expect(Math.abs(px[0] - 128)).toBeLessThan(8);
  });

  test('a 1-channel JPEG is reported as grayscale (sharp would expand it to 3)', async () => {
    const bytes = await sharp(Buffer.alloc(64, 90), { raw: { width: 8, height: 8, channels: 1 } })
      .toColourspace('b-w')
      .jpeg()
      .toBuffer();
    expect((await decodeImage(bytes)).sourceChannels).toBe(1);
  });

  test('converts colour to gray and resizes to the dataset shape', async () => {
    const px = await decodeToShape(rgbPng(16, 16, 3), { height: 8, width: 4, channels: 1 });
    expect(px.length).toBe(32);
    const rgb = await decodeToShape(grayPng(10, 10, 1), { height: 10, width: 10, channels: 3 });
    expect(rgb.length).toBe(300);
    expect(rgb[0]).toBe(rgb[1]);
  });

  test.each([
    ['empty', Buffer.alloc(0), /empty/],
    ['text named .png', Buffer.from('hello, I am not an image'), /not a supported image/],
    ['truncated PNG', grayPng(32, 32, 1).subarray(0, 60), /corrupt PNG/],
  ])('rejects %s', async (_name, bytes, reason) => {
    await expect(decodeImage(bytes)).rejects.toThrow(DecodeError);
    await expect(decodeImage(bytes)).rejects.toThrow(reason);
  });

  test('rejects a truncated JPEG', async () => {
    const bytes = await encodeWithSharp(Buffer.alloc(32 * 32 * 3, 50), 32, 32, 'jpeg');
    await expect(decodeImage(bytes.subarray(0, Math.floor(bytes.length / 2)))).rejects.toThrow(/corrupt JPEG/);
  });
});
