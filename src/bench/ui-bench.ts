import { resolveConfig } from '../config';
import { startDashboard } from '../dashboard/server';
import crypto from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { insertPredictions, type PredictionLogRow } from '../db/predictions';
import { appendEpochs, createRun, finishRun } from '../db/run-writes';
import { type TestDetails } from '../db/run-types';
import { importImages } from '../ingest/import-pipeline';
import { MlDb } from '../mldb';
import { median } from './server';
import { noisePng } from './synthetic-images';

const RUNS = 1000;
const EXPERIMENTS = 100;
const ROWS = 60_000;
const EPOCHS = 20;
const PREDICTIONS = 50_000;
const LABELS = [...Array(10).keys()].map(String);

/** A test split's details as training records them: a 10×10 confusion matrix and 50 mistakes. */
function details(i: number): TestDetails {
  return {
    count: 6000,
    labels: LABELS,
    classes: LABELS.map((label) => ({ label, support: 600, precision: 0.98, recall: 0.98, f1: 0.98 })),
    macro: { precision: 0.98, recall: 0.98, f1: 0.98 },
    confusion: LABELS.map((_, r) => LABELS.map((__, c) => (r === c ? 590 : 1))),
    mistakes: [...Array(50).keys()].map((k) => ({
      id: 1 + ((i * 50 + k) % ROWS),
      label: '1',
      predicted: '7',
      confidence: 0.6,
    })),
  };
}

/**
 * `npm run bench -- ui`: each dashboard endpoint's time (median of 7, over loopback HTTP) on a
 * database of 1,000 runs of 20 epochs in 100 experiments and a 60,000-row table, slowest first.
 */
export async function uiBench(dbUrl: string): Promise<void> {
  const mldb = new MlDb({ config: resolveConfig({ url: dbUrl, table: 'bench_ui' }, {}, '/') });
  await mldb.dropTable('bench_ui').catch(() => undefined);
  const started = Date.now();
  const items = [...Array(ROWS).keys()].map((i) => ({
    label: LABELS[i % 10],
    relative: `${LABELS[i % 10]}/${i}.png`,
    path: `${i}.png`,
    bytes: noisePng(28, 28, i + 1),
  }));
  const db = await mldb.connection();
  await importImages(db, items, { table: 'bench_ui', create: true });
  for (let i = 0; i < RUNS; i++) {
    const id = await createRun(db, {
      name: null,
      experiment: `grid-${i % EXPERIMENTS}`,
      planKey: null,
      dataset: 'bench_ui',
      architecture: ['simple_cnn', 'lenet5', 'resnet_small'][i % 3],
      hyperparameters: {
        seed: i,
        learningRate: [0.001, 0.003, 0.01][i % 3],
        batchSize: [32, 64][i % 2],
        epochs: EPOCHS,
      },
      mldbVersion: 'bench',
      tfjsVersion: 'bench',
      host: 'bench',
      pid: process.pid,
    });
    await appendEpochs(
      db,
      id,
      [...Array(EPOCHS).keys()].map((e) => ({
        epoch: e + 1,
        loss: 1 / (e + 1),
        accuracy: 1 - 0.5 / (e + 1),
        valLoss: 1.1 / (e + 1),
        valAccuracy: 1 - 0.6 / (e + 1),
        seconds: 3,
        samplesPerSecond: 2000,
        learningRate: 0.001,
      })),
    );
    await finishRun(db, id, {
      status: 'completed',
      test: { loss: 0.05, accuracy: 0.98 + (i % 17) / 1000, details: details(i) },
    });
  }
  const input = noisePng(28, 28, 7);
  for (let from = 0; from < PREDICTIONS; from += 1000) {
    const rows: PredictionLogRow[] = [...Array(1000).keys()].map((k) => ({
      id: uuidv7(),
      createdAt: new Date(Date.now() - (PREDICTIONS - from - k) * 1000),
      source: 'api',
      model: `m${(from + k) % 5}@1`,
      modelId: null,
      runId: null,
      client: '127.0.0.1',
      fileName: `${from + k}.png`,
      inputSha256: crypto.createHash('sha256').update(input).digest(),
      inputBytes: input.length,
      inputFormat: 'png',
      input: (from + k) % 10 === 0 ? input : null,
      label: LABELS[k % 10],
      confidence: 0.9,
      top: [{ label: LABELS[k % 10], probability: 0.9 }],
      latencyMs: 2,
      status: 'ok',
      error: null,
      trueLabel: (from + k) % 100 === 0 ? '3' : null,
    }));
    await insertPredictions(db, rows);
  }
  const filled = `${ROWS.toLocaleString('en-US')} rows, ${RUNS} runs × ${EPOCHS} epochs, ${EXPERIMENTS} experiments`;
  const logged = `${PREDICTIONS.toLocaleString('en-US')} predictions`;
  console.log(`filled ${filled}, ${logged} in ${((Date.now() - started) / 1000).toFixed(0)} s`);

  const server = await startDashboard({ host: '127.0.0.1', port: 0, connect: () => mldb.connection() });
  const deepId = 59_000;
  const endpoints = [
    '/api/overview',
    '/api/tables/bench_ui',
    '/api/tables/bench_ui/images?limit=60',
    `/api/tables/bench_ui/images?limit=60&after=${deepId}`,
    '/api/tables/bench_ui/images?limit=60&label=7&split=test',
    '/api/tables/bench_ui/images?limit=60&split=validation',
    `/api/tables/bench_ui/images/${deepId}.png`,
    '/api/runs?limit=50',
    '/api/runs?limit=50&sort=test_accuracy&order=desc&offset=900',
    '/api/runs?limit=50&experiment=grid-42&architecture=lenet5',
    '/api/runs/500',
    '/api/compare?ids=1,2,3,4,5',
    '/api/experiments?limit=100',
    '/api/experiments/grid-42',
    '/api/models',
    '/api/predictions?limit=50',
    '/api/predictions?limit=50&model=m3@1&label=7',
    '/api/predictions?limit=50&pending=1',
    `/api/predictions?limit=50&before=${new Date(Date.now() - 40_000_000).toISOString()}`,
  ];
  const rows: Array<{ endpoint: string; ms: number; bytes: number }> = [];
  for (const endpoint of endpoints) {
    const times: number[] = [];
    let bytes = 0;
    for (let k = 0; k < 7; k++) {
      const t = performance.now();
      const r = await fetch(server.url + endpoint);
      const body = await r.arrayBuffer();
      times.push(performance.now() - t);
      if (!r.ok) throw new Error(`${endpoint}: HTTP ${r.status} ${Buffer.from(body).toString()}`);
      bytes = body.byteLength;
    }
    rows.push({ endpoint, ms: median(times), bytes });
  }
  await server.app.close();
  rows.sort((a, b) => b.ms - a.ms);
  for (const r of rows)
    console.log(`${r.ms.toFixed(1).padStart(8)} ms  ${(r.bytes / 1024).toFixed(1).padStart(8)} KB  ${r.endpoint}`);
  console.log(`slowest endpoint: ${rows[0].endpoint} at ${rows[0].ms.toFixed(1)} ms (median of 7)`);
  await mldb.dropTable('bench_ui');
  await mldb.close();
}
