import { augmenter, ORIGINAL_AUGMENTATION, transformFor, warpImage, type Augmentation } from '../../src/ml/augment';
import { mulberry32 } from '../../src/ml/seeded';
import { selectBackend } from '../../src/ml/backend';
import { tf } from '../../src/ml/tf';

const SHAPE = { height: 6, width: 5, channels: 1 };
const NONE: Augmentation = { rotation: 0, widthShift: 0, heightShift: 0, zoom: 0, flip: false };

/** n images of distinct values (image i, pixel k: i + k / 100). */
function batch(n: number): Float32Array {
  const per = SHAPE.height * SHAPE.width;
  return Float32Array.from({ length: n * per }, (_, j) => Math.floor(j / per) + (j % per) / 100);
}

function mirrored(image: Float32Array): Float32Array {
  const out = new Float32Array(image.length);
  for (let y = 0; y < SHAPE.height; y++)
    for (let x = 0; x < SHAPE.width; x++) out[y * SHAPE.width + x] = image[y * SHAPE.width + SHAPE.width - 1 - x];
  return out;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('augmentation', () => {
  test('nothing to draw: the identity transform, and the images unchanged', () => {
    expect(transformFor(NONE, SHAPE, mulberry32(1)).map((v) => v + 0)).toEqual([1, 0, 0, 0, 1, 0, 0, 0]); // + 0: no -0
    const xs = batch(3);
    expect(Array.from(augmenter(NONE, SHAPE, 1)(xs, 3))).toEqual(Array.from(xs));
  });

  test('flip alone: each image as it was or mirrored exactly, both happening', () => {
    const xs = batch(16);
    const out = augmenter({ ...NONE, flip: true }, SHAPE, 3)(xs, 16);
    const per = SHAPE.height * SHAPE.width;
    const kinds = Array.from({ length: 16 }, (_, i) => {
      const src = xs.subarray(i * per, (i + 1) * per);
      const got = Array.from(out.subarray(i * per, (i + 1) * per));
      if (got.every((v, k) => Math.abs(v - src[k]) < 1e-5)) return 'same';
      if (got.every((v, k) => Math.abs(v - mirrored(src)[k]) < 1e-5)) return 'mirrored';
      return 'other';
    });
    expect(new Set(kinds)).toEqual(new Set(['same', 'mirrored']));
  });

  test("the original's ranges: seeded, new per batch, values within each image's own range", () => {
    const xs = batch(8);
    const a = augmenter(ORIGINAL_AUGMENTATION, SHAPE, 7);
    const b = augmenter(ORIGINAL_AUGMENTATION, SHAPE, 7);
    const first = a(xs, 8);
    expect(Array.from(b(xs, 8))).toEqual(Array.from(first)); // same seed, same draws
    expect(Array.from(a(xs, 8))).not.toEqual(Array.from(first)); // the next batch draws anew
    expect(Array.from(augmenter(ORIGINAL_AUGMENTATION, SHAPE, 8)(xs, 8))).not.toEqual(Array.from(first));
    expect(Array.from(first)).not.toEqual(Array.from(xs));
    const per = SHAPE.height * SHAPE.width;
    for (let i = 0; i < 8; i++) {
      // Bilinear sampling with the nearest edge for outside points never leaves the input's range.
      for (const v of first.subarray(i * per, (i + 1) * per)) {
        expect(v).toBeGreaterThanOrEqual(i - 1e-5);
        expect(v).toBeLessThanOrEqual(i + (per - 1) / 100 + 1e-5);
      }
    }
  });

  test('a shift of exactly one pixel moves the image by one pixel, the edge repeated', () => {
    // widthShift 1/5 of a 5-wide image with a draw of +1: one pixel. The stub draws 1 for the shift only.
    const draws = [0.5, 1, 0.5, 0.5, 0.5]; // rotation, width shift, height shift, zoom x, zoom y
    const t = transformFor({ ...NONE, widthShift: 0.2 }, SHAPE, () => draws.shift()!);
    const image = batch(1);
    const out = new Float32Array(image.length);
    warpImage(image, out, 0, t, SHAPE);
    for (let y = 0; y < 6; y++) {
      const row = Array.from(out.subarray(y * 5, y * 5 + 5)).map((v) => Math.round(v * 100) / 100);
      const src = Array.from(image.subarray(y * 5, y * 5 + 5)).map((v) => Math.round(v * 100) / 100);
      expect(row).toEqual([src[0], src[0], src[1], src[2], src[3]]);
    }
  });

  test('the warp is what tf.image.transform (bilinear, fill nearest) computes, on gray and RGB images', async () => {
    expect((await selectBackend('wasm')).name).toBe('wasm');
    try {
      for (const shape of [SHAPE, { height: 9, width: 7, channels: 3 as const }]) {
        const per = shape.height * shape.width * shape.channels;
        const random = mulberry32(21);
        const image = Float32Array.from({ length: per }, () => random());
        for (let trial = 0; trial < 20; trial++) {
          const t = transformFor({ ...ORIGINAL_AUGMENTATION, rotation: 30, zoom: 0.3, flip: true }, shape, random);
          const ours = new Float32Array(per);
          warpImage(image, ours, 0, t, shape);
          const theirs = tf.tidy(() =>
            tf.image
              .transform(
                tf.tensor4d(image, [1, shape.height, shape.width, shape.channels]),
                tf.tensor2d(t, [1, 8]),
                'bilinear',
                'nearest',
              )
              .dataSync(),
          );
          ours.forEach((v, k) => expect(v).toBeCloseTo(theirs[k], 5));
        }
      }
    } finally {
      await tf.setBackend('cpu');
    }
  });
});
