import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveConfig } from '../config';
import { MlDb } from '../mldb';

/**
 * `npm run bench -- study-train [EPOCHS] [LEARNING_RATES]`: a real study on filedata, 2 worker
 * processes (`mldb experiment` each), with the median pruner against the same study without one,
 * each in a database of its own (so that neither finds the other's runs): the wall time the pruner
 * saves, and the selected trial's test accuracy in both.
 */

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'mldb.js');
const WORKERS = 2;
const DEFAULT_RATES = [0.003, 0.001, 0.0003, 0.0001, 0.00003, 0.00001, 0.000003, 0.000001];

function worker(url: string, plan: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'experiment', plan, '--wait', '3600', '--json'], {
      env: { ...process.env, MLDB_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as Record<string, unknown>)
        : reject(new Error(`worker exited ${code}: ${err}`)),
    );
  });
}

async function study(
  serverUrl: string,
  data: string,
  pruner: 'none' | 'median',
  epochs: number,
  rates: number[],
): Promise<{ seconds: number; doc: Record<string, unknown> }> {
  const u = new URL(serverUrl);
  u.pathname = `/bench_study_train_${pruner}`;
  const url = u.toString();
  const mldb = new MlDb({ config: resolveConfig({ url, table: 'filedata' }, {}, process.cwd()) });
  try {
    if (!(await mldb.listTables()).some((t) => t.name === 'filedata')) await mldb.insertFolder(data, { create: true });
  } finally {
    await mldb.close();
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldb-bench-study-'));
  const plan = path.join(dir, 'plan.json');
  fs.writeFileSync(
    plan,
    JSON.stringify({
      name: `filedata-${pruner}`,
      table: 'filedata',
      backend: 'wasm',
      workers: 1,
      pruner,
      startupTrials: 2,
      save: path.join(dir, 'models'),
      grid: { model: ['simpler_cnn'], learningRate: rates, epochs, batchSize: 64 },
    }),
  );
  try {
    const started = Date.now();
    const docs = await Promise.all(Array.from({ length: WORKERS }, () => worker(url, plan)));
    return { seconds: (Date.now() - started) / 1000, doc: docs[0] };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function studyTrainingBench(serverUrl: string, data: string, epochs = 10, rates = DEFAULT_RATES) {
  const results: Record<string, { seconds: number; doc: Record<string, unknown> }> = {};
  for (const pruner of ['none', 'median'] as const) {
    const r = (results[pruner] = await study(serverUrl, data, pruner, epochs, rates));
    const best = r.doc.best as { learningRate: number; value: number; testAccuracy: number | null } | null;
    console.log(
      `pruner ${pruner.padEnd(6)}: ${rates.length} trials of ${epochs} epochs on ${WORKERS} workers in ` +
        `${r.seconds.toFixed(1)} s, ${String(r.doc.pruned)} pruned; selected lr ${best?.learningRate} ` +
        `val_accuracy ${best?.value.toFixed(4)} test accuracy ${best?.testAccuracy?.toFixed(4) ?? '-'}`,
    );
  }
  const saved = 1 - results.median.seconds / results.none.seconds;
  console.log(`the median pruner saved ${(saved * 100).toFixed(0)}% of the wall time`);
}
