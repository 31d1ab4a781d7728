import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { noisePng } from '../../src/bench/synthetic-images';

/** The original 20×20 digits, beside the repository (CI has ../shared), if present. */
export const FILEDATA = path.resolve(__dirname, '..', '..', '..', 'shared', 'filedata');
export const SAMPLE_DIGITS = path.resolve(__dirname, '..', '..', 'datasets', 'digits');

export function tempDir(prefix = 'mldb-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A deterministic gray PNG whose pixels encode `seed`, so every file has distinct content. */
export const grayPng = noisePng;

export function rgbPng(width: number, height: number, seed: number): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    png.data[i * 4] = (i * 7 + seed) & 0xff;
    png.data[i * 4 + 1] = (i * 13 + seed * 3) & 0xff;
    png.data[i * 4 + 2] = (i * 29 + seed * 5) & 0xff;
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}

/**
 * Writes DIR/<label>/img-<i>.png for each label: a labeled folder of distinct images. Noise does
 * not compress, so many of them make an import that takes a while. `firstSeed` keeps two folders
 * imported into one table from sharing images.
 */
export function makeLabeledFolder(labels: Record<string, number>, size = 8, dir = tempDir(), firstSeed = 1): string {
  let seed = firstSeed;
  for (const [label, count] of Object.entries(labels)) {
    fs.mkdirSync(path.join(dir, label), { recursive: true });
    for (let i = 0; i < count; i++)
      fs.writeFileSync(path.join(dir, label, `img-${i}.png`), grayPng(size, size, seed++));
  }
  return dir;
}

/** `count` labels l0, l1, … of `each` files: the shape of makeLabeledFolder's first argument. */
export function evenLabels(count: number, each: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`l${i}`, each]));
}

/** ../shared/filedata when present; otherwise a generated 10-label folder of 20×20 PNGs. */
export function digitsFolder(): string {
  if (fs.existsSync(FILEDATA)) return FILEDATA;
  return makeLabeledFolder(Object.fromEntries([...Array(10).keys()].map((d) => [String(d), 30])), 20);
}

/** The first `perLabel` sample digits of each label, copied as DIR/<digit>/<file>: a tiny table's folder. */
export function sampleDigitsFolder(perLabel: number, dir = tempDir()): string {
  for (const d of fs.readdirSync(SAMPLE_DIGITS)) {
    fs.mkdirSync(path.join(dir, d), { recursive: true });
    for (const f of fs.readdirSync(path.join(SAMPLE_DIGITS, d)).slice(0, perLabel))
      fs.copyFileSync(path.join(SAMPLE_DIGITS, d, f), path.join(dir, d, f));
  }
  return dir;
}
