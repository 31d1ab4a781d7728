import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveConfig } from '../config';
import { MlDb } from '../mldb';
import { openArchiveFile } from '../ingest/archive';
import { renderTable } from '../ui/table';
import { FASHION_LABELS, noisePng, writeFashionLayout } from './synthetic-images';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'mldb.js');
/** Seconds of writing per rate: bounded, so every run ends. */
const WRITE_SECONDS = Number(process.env.MLDB_BENCH_WATCH_SECONDS ?? 10);

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

interface WatchFigure {
  rate: number;
  files: number;
  ingestPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  batches: number;
}

/**
 * One rate: a writer renames 28×28 PNGs into a watched folder at `rate` files/s for
 * WRITE_SECONDS; latency is each file's rename → the commit of its batch (the watcher's NDJSON
 * `committedAt`, same clock), ingest rate is files over first rename → last commit.
 */
async function watchAtRate(url: string, rate: number, table: string): Promise<WatchFigure> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldb-bench-watch-'));
  const count = rate * WRITE_SECONDS;
  const images = Array.from({ length: count }, (_, i) => noisePng(28, 28, rate * 1_000_000 + i));
  for (const l of FASHION_LABELS) fs.mkdirSync(path.join(dir, l));
  const child = spawn(process.execPath, [BIN, 'import', dir, '--watch', '--json', '--table', table, '--create'], {
    env: { ...process.env, MLDB_URL: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const committed = new Map<string, number>();
  let batches = 0;
  let buffered = '';
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const b = JSON.parse(line) as { type: string; committedAt: string; sources: string[] };
      if (b.type !== 'batch') continue;
      batches++;
      const at = Date.parse(b.committedAt);
      for (const s of b.sources) committed.set(s, at);
    }
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await until(() => stderr.includes('watching'), 30_000, 'the watch to start');
    const renamedAt = new Map<string, number>();
    const start = Date.now();
    for (let i = 0; i < count;) {
      // Paced by the clock: every file due by now is written (tmp name, then rename).
      const due = Math.min(count, Math.floor(((Date.now() - start) / 1000) * rate) + 1);
      for (; i < due; i++) {
        const label = FASHION_LABELS[i % FASHION_LABELS.length];
        const relative = `${label}/${i}.png`;
        const tmp = path.join(dir, label, `.${i}.png.tmp`);
        fs.writeFileSync(tmp, images[i]);
        fs.renameSync(tmp, path.join(dir, relative));
        renamedAt.set(relative, Date.now());
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    await until(() => committed.size >= count, 120_000, `${count} committed files`);
    const latencies = [...renamedAt].map(([s, t]) => committed.get(s)! - t);
    const first = Math.min(...renamedAt.values());
    const last = Math.max(...committed.values());
    return {
      rate,
      files: count,
      ingestPerSecond: count / ((last - first) / 1000),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: Math.max(...latencies),
      batches,
    };
  } finally {
    child.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`watch bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Archives against the folder they were made from: the synthetic Fashion-style split layout
 * (MLDB_BENCH_ARCHIVE_IMAGES files, default 60,000) imported from the folder (the baseline),
 * from a tar.gz and from a zip, each into a fresh table.
 */
async function archiveBench(url: string): Promise<void> {
  const images = Number(process.env.MLDB_BENCH_ARCHIVE_IMAGES ?? 60_000);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mldb-bench-archive-'));
  const mldb = new MlDb({ config: resolveConfig({ url }, {}, '/') });
  try {
    const folder = path.join(work, 'fashion');
    console.log(`synthesising ${images.toLocaleString('en-US')} 28×28 PNGs in the train/test split layout…`);
    writeFashionLayout(folder, images);
    const tgz = path.join(work, 'fashion.tar.gz');
    const zip = path.join(work, 'fashion.zip');
    execFileSync('tar', ['-C', folder, '-czf', tgz, '.']);
    let haveZip = true;
    try {
      execFileSync('zip', ['-qr', '-1', zip, '.'], { cwd: folder });
    } catch {
      haveZip = false; // no zip tool on this machine: that row is left out
    }
    const rows: string[][] = [];
    let baseline = 0;
    const fromArchive = (file: string, format: 'tar.gz' | 'zip') => async (t: string) =>
      mldb.insertFrom(await openArchiveFile(file, format), { table: t, create: true });
    const sources: Array<[string, (t: string) => Promise<{ imported: number }>]> = [
      ['folder (baseline)', (t) => mldb.insertFolder(folder, { table: t, create: true })],
      ['tar.gz', fromArchive(tgz, 'tar.gz')],
    ];
    if (haveZip) sources.push(['zip', fromArchive(zip, 'zip')]);
    for (const [what, run] of sources) {
      const table = `bench_archive_${what.split(' ')[0].replace('.', '_')}`;
      await mldb.dropTable(table).catch(() => undefined);
      const t0 = performance.now();
      const s = await run(table);
      const perSecond = s.imported / ((performance.now() - t0) / 1000);
      if (s.imported !== images) throw new Error(`${what}: imported ${s.imported} of ${images}`);
      baseline ||= perSecond;
      rows.push([what, Math.round(perSecond).toLocaleString('en-US'), `${(perSecond / baseline).toFixed(2)}×`]);
      await mldb.dropTable(table);
    }
    console.log(renderTable(['import from', 'images/s', 'vs folder'], rows, ['left', 'right', 'right']));
  } finally {
    await mldb.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export async function watchBench(url: string): Promise<void> {
  const rates = (process.env.MLDB_BENCH_WATCH_RATES ?? '500,2000').split(',').map(Number);
  const figures: WatchFigure[] = [];
  for (const rate of rates) figures.push(await watchAtRate(url, rate, `bench_watch_${rate}`));
  console.log(
    `\nimport --watch, 28×28 PNGs renamed into place for ${WRITE_SECONDS} s per rate; latency = rename → commit`,
  );
  console.log(
    renderTable(
      ['offered files/s', 'files', 'ingested files/s', 'vs offered', 'p50 ms', 'p99 ms', 'max ms', 'batches'],
      figures.map((f) => [
        String(f.rate),
        String(f.files),
        Math.round(f.ingestPerSecond).toLocaleString('en-US'),
        `${(f.ingestPerSecond / f.rate).toFixed(2)}×`,
        String(f.p50),
        String(f.p99),
        String(f.max),
        String(f.batches),
      ]),
      ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  );
  console.log('target: keeps up with 2,000 files/s (≈1.00× of offered) with p99 under 1,000 ms\n');
  if (Number(process.env.MLDB_BENCH_ARCHIVE_IMAGES ?? 1) > 0) await archiveBench(url);
}
