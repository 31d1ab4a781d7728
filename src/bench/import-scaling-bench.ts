import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveConfig } from '../config';
import { insertRows, ROW_SQL_OVERHEAD, type NewRow } from '../db/row-writes';
import type { ImageShape } from '../image-shape';
import { decodeToShape } from '../images/decode';
import { walkLabeledFolder } from '../ingest/walk-labeled-folder';
import { MlDb } from '../mldb';
import { renderTable } from '../ui/table';
import { writeMnistFolder } from './accuracy-bench';
import { originalMethod } from './import-bench';
import { median } from './server';

const SHAPE: ImageShape = { height: 28, width: 28, channels: 1 };
const ROUNDS = 3;

/** One `mldb import` on `threads` threads, in a process of its own so that its peak memory is its own. */
function mldbImport(url: string, dir: string, table: string, threads: number): { perSecond: number; peakMb: number } {
  const mldb = path.resolve(__dirname, '..', 'mldb.js');
  const config = path.resolve(__dirname, '..', 'config.js');
  const peak = path.resolve(__dirname, 'peak-memory.js');
  const script =
    `const { MlDb } = require(${JSON.stringify(mldb)}); const { resolveConfig } = require(${JSON.stringify(config)});` +
    `const { peakResidentMb } = require(${JSON.stringify(peak)});` +
    `(async () => { const m = new MlDb({ config: resolveConfig({ url: ${JSON.stringify(url)} }, {}, '/') });` +
    `await m.connection(); const t0 = performance.now();` +
    `const s = await m.insertFolder(${JSON.stringify(dir)}, { table: ${JSON.stringify(table)}, create: true, ` +
    `shape: { channels: 1 }, threads: ${threads} });` +
    `const seconds = (performance.now() - t0) / 1000; await m.close();` +
    `console.log(JSON.stringify({ files: s.files, seconds, peakMb: peakResidentMb() }));` +
    `})().catch((e) => { console.error(e); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the import child failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { files: number; seconds: number; peakMb: number };
  return { perSecond: out.files / out.seconds, peakMb: out.peakMb };
}

/**
 * The server's own ceiling for the same rows: every row prepared beforehand (original bytes,
 * pixels, hashes), then loaded by the largest multi-row INSERTs one connection can send.
 */
async function serverCeiling(m: MlDb, dir: string, table: string): Promise<number> {
  const rows: NewRow[] = [];
  for (const f of walkLabeledFolder(dir).files) {
    const original = fs.readFileSync(f.path);
    rows.push({
      label: f.label,
      split: 'train',
      sha256: crypto.createHash('sha256').update(original).digest(),
      source: f.relative,
      format: 'png',
      width: SHAPE.width,
      height: SHAPE.height,
      original,
      pixels: await decodeToShape(original, SHAPE),
    });
  }
  await m.dropTable(table).catch(() => undefined);
  await m.createTable(table, { shape: SHAPE });
  const db = await m.connection();
  const budget = Math.floor((await db.maxAllowedPacket()) * 0.9) - 4096;
  const t0 = performance.now();
  let batch: NewRow[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = 2 * (row.original.length + row.pixels.length) + ROW_SQL_OVERHEAD;
    if (batch.length > 0 && bytes + size > budget) {
      await insertRows(db, table, batch);
      batch = [];
      bytes = 0;
    }
    batch.push(row);
    bytes += size;
  }
  if (batch.length > 0) await insertRows(db, table, batch);
  return rows.length / ((performance.now() - t0) / 1000);
}

/**
 * `npm run bench -- import`, second part: 10,000 MNIST digits as 28×28 PNGs, imported by mldb on
 * 1, 2, … threads, against the original per-row method and the server's own ceiling for the same
 * rows, each measured ROUNDS times alternating, in one run on one server.
 */
export async function importScalingBench(url: string): Promise<void> {
  const dir = writeMnistFolder();
  const m = new MlDb({ config: resolveConfig({ url }, {}, '/') });
  try {
    const cores = os.availableParallelism();
    const counts = [...new Set([1, 2, 4, 8, 16, cores].filter((t) => t <= cores))].sort((a, b) => a - b);
    const ours = new Map(counts.map((t) => [t, [] as Array<{ perSecond: number; peakMb: number }>]));
    const original: number[] = [];
    const ceiling: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of counts) {
        const table = `bench_threads_${t}`;
        await m.dropTable(table).catch(() => undefined);
        ours.get(t)!.push(mldbImport(url, dir, table, t));
      }
      original.push(await originalMethod(m.config, dir));
      ceiling.push(await serverCeiling(m, dir, 'bench_ceiling'));
    }
    const base = median(original);
    const top = median(ceiling);
    const rows = counts.map((t) => {
      const rate = median(ours.get(t)!.map((r) => r.perSecond));
      const peak = Math.max(...ours.get(t)!.map((r) => r.peakMb));
      return [
        `mldb import, ${t} thread${t > 1 ? 's' : ''}`,
        Math.round(rate),
        `${(rate / base).toFixed(2)}× (target ≥ 3×)`,
        `${(rate / top).toFixed(2)}× (target ≥ 0.7×)`,
        `${Math.round(peak)} MB`,
      ];
    });
    console.log(
      renderTable(
        ['10,000 MNIST PNGs, 28×28', 'images/s', 'vs original', "vs server's ceiling", 'peak RSS'],
        [
          ...rows,
          [
            'original method (INSERT per file, one commit)',
            Math.round(base),
            '1.00×',
            `${(base / top).toFixed(2)}×`,
            '',
          ],
          [
            "server's ceiling (rows prepared, largest INSERTs)",
            Math.round(top),
            `${(top / base).toFixed(2)}×`,
            '1.00×',
            '',
          ],
        ],
      ),
    );
    console.log(
      `rounds (images/s): ${counts
        .map(
          (t) =>
            `${t} threads ${ours
              .get(t)!
              .map((r) => Math.round(r.perSecond))
              .join('/')}`,
        )
        .join('; ')}; ` +
        `original ${original.map(Math.round).join('/')}; ceiling ${ceiling.map(Math.round).join('/')}; ${cores} cores`,
    );
  } finally {
    await m.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
