import { countRows } from '../db/table-stats';
import { pixelPages } from '../db/pixel-reads';
import type { Db } from '../db/db';
import { valuesPerImage, type ImageShape } from '../image-shape';
import { checkPixelLength, readPixelMatrix, readScaledMatrix, scalePixels } from '../samples/pixel-matrix';
import { median } from './server';

/**
 * The ways of loading a whole table that the benchmarks compare, each returning the rows it read:
 * - `rowObjects`: what mldb did first — a row object per row, one connection, keyset
 *   pages, a division per pixel into one Float32 buffer (the baseline);
 * - `trainingMatrix`: the bulk reader (bulk-read.ts), stored bytes, as training holds them
 *   (batches are scaled to floats as they are taken);
 * - `float32`: the bulk reader scaling every span to floats as it arrives: rows → one Float32 buffer
 *   (like for like).
 */
export function tableReaders(db: Db, shape: ImageShape) {
  const per = valuesPerImage(shape);
  return {
    rowObjects: async (table: string) => {
      // readPixelMatrix as it was at 0648a8c, step for step.
      const count = await countRows(db, table, {});
      const xs = new Float32Array(count * per);
      const m = { ids: [] as number[], labels: [] as string[], hashes: [] as Buffer[] };
      let i = 0;
      for await (const page of pixelPages(db, table, {})) {
        for (const row of page) {
          if (i >= count) break;
          checkPixelLength(table, row.id, row.pixels, per);
          scalePixels(row.pixels, xs, i * per);
          m.labels.push(row.label);
          m.ids.push(Number(row.id));
          m.hashes.push(row.sha256);
          i++;
        }
      }
      return i;
    },
    trainingMatrix: async (table: string) => (await readPixelMatrix(db, table, shape, {})).count,
    float32: async (table: string) => (await readScaledMatrix(db, table, shape, {})).xs.length / per,
  };
}

/** Rows per second of `read`, the median of `rounds` runs. */
export async function rowsPerSecond(read: (table: string) => Promise<number>, table: string, rounds: number) {
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const n = await read(table);
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}
