import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { resolveConfig } from '../config';
import { walkLabeledFolder } from '../ingest/walk-labeled-folder';
import { MlDb } from '../mldb';
import { renderTable } from '../ui/table';
import { median } from './server';
import { peakResidentMb } from './peak-memory';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'mldb.js');

interface Load {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Starts a server process and waits for the "listening on URL" line on its stderr. */
async function startProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A bounded load: `amount` single-image form uploads over `connections`, stopped after 120 s at most. */
async function load(url: string, file: string, connections: number, amount: number): Promise<Load> {
  const t0 = performance.now();
  let last = t0;
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        method: 'POST',
        connections,
        amount,
        timeout: 30,
        duration: 120,
        form: { file: { type: 'file', path: file } },
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    instance.on('response', () => (last = performance.now()));
  });
  // autocannon stops on a whole-second tick: time the run to its last response instead.
  const seconds = (last - t0) / 1000;
  return {
    requestsPerSecond: r.requests.total / seconds,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
  };
}

/**
 * `npm run bench -- serve`: requests/s and p50/p99 latency of single-image requests to a
 * simple_cnn model, logging on, at concurrency 1, 16 and 64 — `mldb serve` against a baseline
 * server that does what the original did per request (serve-baseline.ts). Loopback only.
 */
export async function serveBench(dbUrl: string, dir: string, amount = Number(process.env.MLDB_BENCH_REQUESTS ?? 3000)) {
  const mldb = new MlDb({ config: resolveConfig({ url: dbUrl, table: 'bench_serve' }, {}, '/') });
  await mldb.dropTable('bench_serve').catch(() => undefined);
  await mldb.insertFolder(dir, { create: true });
  console.log('training simple_cnn for one epoch (the model served; its accuracy does not matter here)…');
  const report = await mldb.train({ model: 'simple_cnn', epochs: 1, save: undefined });
  await mldb.close();
  const ref = `run:${report.runId}`;
  const file = walkLabeledFolder(dir).files[0].path;
  const env = { ...process.env, MLDB_URL: dbUrl };

  const rows: string[][] = [];
  for (const connections of [1, 16, 64]) {
    const baseline = await startProcess([path.resolve(__dirname, 'serve-baseline.js'), dbUrl, ref], env);
    await load(`${baseline.url}/mnist`, file, connections, 200); // warm-up
    const base = await load(`${baseline.url}/mnist`, file, connections, amount);
    await baseline.stop();
    const extra = (process.env.MLDB_BENCH_SERVE_ARGS ?? '').split(' ').filter(Boolean);
    const ours = await startProcess([BIN, 'serve', '--model', ref, '--port', '0', ...extra], env);
    await load(`${ours.url}/v1/predict`, file, connections, 200);
    const mine = await load(`${ours.url}/v1/predict`, file, connections, amount);
    await ours.stop();
    rows.push([
      String(connections),
      base.requestsPerSecond.toFixed(0),
      `${base.p50} / ${base.p99}`,
      mine.requestsPerSecond.toFixed(0),
      `${mine.p50} / ${mine.p99}`,
      `${(mine.requestsPerSecond / base.requestsPerSecond).toFixed(2)}×`,
      String(base.errors + mine.errors),
    ]);
  }
  console.log(
    renderTable(
      [
        'concurrency',
        'baseline req/s',
        'baseline p50/p99 ms',
        'mldb serve req/s',
        'mldb p50/p99 ms',
        'ratio',
        'errors',
      ],
      rows,
      ['right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  );
  console.log(`(${amount} requests per cell after 200 warm-up ones; one 20×20 JPEG per request; log on in both)`);
  fs.rmSync(report.savedTo ?? '', { recursive: true, force: true });
}

async function timeTiny(url: string, tiny: Buffer): Promise<number> {
  const t = performance.now();
  const r = await fetch(`${url}/v1/predict`, {
    method: 'POST',
    body: tiny,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  await r.arrayBuffer();
  return performance.now() - t;
}

/**
 * `npm run bench -- decode`: one request of 24 black 4000×4000 PNGs (1.1 MB, 16 megapixels each)
 * against `mldb serve --max-megapixels 16`, while single-image requests keep coming (one at a
 * time, at most 2,000): the service's peak memory above its resting size, and those requests'
 * latency against the same requests with nothing else in flight. Loopback only.
 */
export async function decodeBudgetBench(dbUrl: string, dir: string): Promise<void> {
  const mldb = new MlDb({ config: resolveConfig({ url: dbUrl, table: 'bench_decode' }, {}, '/') });
  await mldb.dropTable('bench_decode').catch(() => undefined);
  await mldb.insertFolder(dir, { create: true });
  const report = await mldb.train({ model: 'lenet5', epochs: 1, save: undefined });
  await mldb.close();
  const tiny = fs.readFileSync(walkLabeledFolder(dir).files[0].path);
  const sharp = (await import('sharp')).default;
  const huge = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#000' } })
    .greyscale()
    .png({ compressionLevel: 9 })
    .toBuffer();
  const server = await startProcess(
    [BIN, 'serve', '--model', `run:${report.runId}`, '--port', '0', '--max-megapixels', '16'],
    {
      ...process.env,
      MLDB_URL: dbUrl,
    },
  );
  const idle: number[] = [];
  for (let i = 0; i < 200; i++) idle.push(await timeTiny(server.url, tiny));
  const resting = peakResidentMb(server.pid);
  const form = new FormData();
  for (let i = 0; i < 24; i++) form.append('file', new Blob([huge]), `huge-${i}.png`);
  let done = false;
  const started = performance.now();
  const big = fetch(`${server.url}/v1/predict`, { method: 'POST', body: form }).then(async (r) => {
    done = true;
    await r.arrayBuffer();
    return r.status;
  });
  const during: number[] = [];
  while (!done && during.length < 2000) during.push(await timeTiny(server.url, tiny));
  const status = await big;
  const seconds = (performance.now() - started) / 1000;
  const peak = peakResidentMb(server.pid);
  await server.stop();
  const p = (xs: number[], q: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
  console.log(
    renderTable(
      ['', 'value'],
      [
        [
          'request of 24 × 16 MP PNGs',
          `${((24 * huge.length) / 1024).toFixed(0)} KB, HTTP ${status} in ${seconds.toFixed(1)} s`,
        ],
        ['peak memory above resting', `${(peak - resting).toFixed(0)} MB (resting ${resting.toFixed(0)} MB)`],
        ['single-image requests answered meanwhile', String(during.length)],
        ['their p50 / p99 while it decodes', `${p(during, 0.5).toFixed(1)} / ${p(during, 0.99).toFixed(1)} ms`],
        ['with nothing else in flight (baseline)', `${median(idle).toFixed(1)} / ${p(idle, 0.99).toFixed(1)} ms`],
        ['p50 ratio (while decoding / idle)', `${(p(during, 0.5) / median(idle)).toFixed(2)}×`],
      ],
    ),
  );
}
