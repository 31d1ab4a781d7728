import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import type { ItemSource } from '../ingest/import-types';

/** The Fashion-MNIST class names: the layout the archive benchmark synthesises. */
export const FASHION_LABELS = [
  'T-shirt_top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle_boot',
];

/** xorshift bytes from `seed`: noise that differs from seed to seed. */
function noise(length: number, seed: number): Buffer {
  const data = Buffer.alloc(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x & 0xff;
  }
  return data;
}

/** A distinct gray PNG per seed (xorshift noise): every file hashes differently, like real data. */
export function noisePng(width: number, height: number, seed: number): Buffer {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = noise(width * height, seed);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

/** A distinct colour (RGB) PNG per seed, every channel its own noise: stored with 3 channels. */
export function noiseColourPng(width: number, height: number, seed: number): Buffer {
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = noise(width * height * 3, seed);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/**
 * `count` colour noise images of `size`×`size` under labels c0…c9 in turn, made in memory as the
 * import reads them: a table of CIFAR's shape (or larger) without a dataset on disk.
 */
export function colourNoiseSource(size: number, count: number): ItemSource {
  function* items() {
    for (let i = 0; i < count; i++) {
      const label = `c${i % 10}`;
      const relative = `${label}/${i}.png`;
      yield { path: `synthetic/${relative}`, relative, label, bytes: noiseColourPng(size, size, i + 1) };
    }
  }
  return { items: items(), rejected: [], total: count };
}

/**
 * `dir/train|test/<fashion label>/<n>.png`, 28×28: the split layout of Fashion-MNIST with
 * `images` files in all, a tenth of them in test.
 */
export function writeFashionLayout(dir: string, images: number): void {
  for (let i = 0; i < images; i++) {
    const split = i % 10 === 9 ? 'test' : 'train';
    const label = FASHION_LABELS[i % FASHION_LABELS.length];
    const folder = path.join(dir, split, label);
    if (i < 20) fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, `${i}.png`), noisePng(28, 28, i + 1));
  }
}
