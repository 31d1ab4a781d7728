import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';

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

/** A distinct gray PNG per seed (xorshift noise): every file hashes differently, like real data. */
export function noisePng(width: number, height: number, seed: number): Buffer {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  const data = Buffer.alloc(width * height);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x & 0xff;
  }
  png.data = data;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
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
