import crypto from 'node:crypto';
import sharp from 'sharp';
import { DecodeError, TooManyPixelsError } from '../../src/images/decode';
import { imageToModelInput } from '../../src/samples/model-input';
import { ImageDecoder, INLINE_PIXELS } from '../../src/serve/image-decoder';

const shape = { height: 20, width: 20, channels: 1 as const };

/** A noisy RGB image, so that resizing and decoding have something to get wrong. */
async function noisy(width: number, height: number, format: 'png' | 'jpeg' | 'webp'): Promise<Buffer> {
  const raw = crypto.randomBytes(width * height * 3);
  const img = sharp(raw, { raw: { width, height, channels: 3 } });
  return (format === 'png' ? img.png() : format === 'jpeg' ? img.jpeg({ quality: 90 }) : img.webp()).toBuffer();
}

describe('ImageDecoder', () => {
  const waiting: number[] = [];
  const decoder = new ImageDecoder(shape, (p) => waiting.push(p), 4e6);
  afterAll(() => decoder.close());

  test.each(['png', 'jpeg', 'webp'] as const)(
    'a large %s decoded on the decode thread gives the floats decoding it here gives',
    async (format) => {
      const bytes = await noisy(600, 500, format);
      expect(600 * 500).toBeGreaterThan(INLINE_PIXELS);
      const before = waiting.length;
      const off = await decoder.toModelInput(bytes);
      // It went through the budget (and so the thread): the waiting count moved.
      expect(waiting.length).toBeGreaterThan(before);
      expect(Buffer.from(off.buffer)).toEqual(Buffer.from((await imageToModelInput(bytes, shape, 4e6)).buffer));
    },
  );

  test('a small image stays on this thread and still gives the same floats', async () => {
    const bytes = await noisy(40, 30, 'png');
    const before = waiting.length;
    const xs = await decoder.toModelInput(bytes);
    expect(waiting.length).toBe(before);
    expect(xs).toEqual(await imageToModelInput(bytes, shape));
  });

  test('refused images get the errors they get on this thread: corrupt, or too many pixels', async () => {
    const cut = (await noisy(600, 500, 'png')).subarray(0, 2000);
    await expect(decoder.toModelInput(cut)).rejects.toBeInstanceOf(DecodeError);
    const bomb = await noisy(3000, 2000, 'png');
    await expect(decoder.toModelInput(bomb)).rejects.toBeInstanceOf(TooManyPixelsError);
  });

  test('images beyond the budget wait their turn; all are decoded, and none is waiting after', async () => {
    const bytes = await noisy(1500, 1000, 'jpeg');
    const all = await Promise.all([...Array(6)].map(() => decoder.toModelInput(bytes)));
    expect(all.every((xs) => xs.length === 400)).toBe(true);
    // 1.5 MP each against a 4 MP budget: at some point four or more were waiting at once.
    expect(Math.max(...waiting)).toBeGreaterThanOrEqual(4 * 1.5e6);
    expect(waiting[waiting.length - 1]).toBe(0);
    expect(decoder.overloadedFor([bytes])).toBe(false);
  });
});
