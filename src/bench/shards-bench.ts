import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster, stopCluster } from '../local-servers/local-cluster';
import { MlDb } from '../mldb';
import { defaultReadParallelism } from '../samples/bulk-read';
import { renderTable } from '../ui/table';
import { median } from './server';
import { rowsPerSecond, tableReaders } from './table-readers';
import { writeFashionLayout } from './synthetic-images';

/**
 * `npm run bench -- shards`: a local MariaDB Spider head with two backends (its own, in a temporary
 * folder), a synthetic 28×28 dataset (MLDB_BENCH_SHARD_IMAGES, default 60,000), and:
 * - import rows/s into (a) one server (an InnoDB table on the head), a table sharded over the two
 *   backends (b) through the head and (c) routed to the backends directly;
 * - the whole table loaded for training, rows/s: the reader mldb had before (a row object per row,
 *   one connection, keyset pages, a Float32 buffer) on (a) and through the head on (b) — the
 *   baselines — against mldb's bulk reader (stored bytes, floats made per batch) on (a) and
 *   shard-direct in parallel on (c), and the same readers followed by scaling everything to one
 *   Float32 buffer (like for like with the baselines).
 * Targets: (c) ≥ 2× (b); on one server the bulk reader ≥ 3× the row-object reader.
 */
export async function shardsBench(): Promise<void> {
  const images = Number(process.env.MLDB_BENCH_SHARD_IMAGES ?? 60_000);
  const rounds = Number(process.env.MLDB_BENCH_ROUNDS ?? 3);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mldb-bench-shards-'));
  const cluster = await startCluster({ dataDir: path.join(work, 'servers'), shards: 2 });
  const mldb = new MlDb({ url: `mysql://root@127.0.0.1:${cluster.head.port}/mldb_bench` });
  try {
    const data = path.join(work, 'data');
    writeFashionLayout(data, images);
    const imports: Record<'plain' | 'head' | 'sharded', number[]> = { plain: [], head: [], sharded: [] };
    for (let r = 0; r < rounds; r++) {
      for (const kind of ['plain', 'head', 'sharded'] as const) {
        const table = `bench_${kind}`;
        await mldb.dropTable(table).catch(() => undefined);
        await mldb.createTable(table, kind === 'plain' ? {} : { shards: 2 });
        const s = await mldb.insertFolder(data, { table, routeShardWrites: kind === 'sharded' });
        imports[kind].push(s.imported / s.seconds);
      }
    }
    await mldb.dropTable('bench_head');
    const db = await mldb.connection();
    const shape = (await mldb.describe('bench_plain')).dataset.shape!;
    const readers = tableReaders(db, shape);
    const timed = (read: (table: string) => Promise<number>, table: string) => rowsPerSecond(read, table, rounds);
    const read = {
      plainOld: await timed(readers.rowObjects, 'bench_plain'),
      plainBulk: await timed(readers.trainingMatrix, 'bench_plain'),
      plainBulkFloats: await timed(readers.float32, 'bench_plain'),
      headOld: await timed(readers.rowObjects, 'bench_sharded'),
      direct: await timed(readers.trainingMatrix, 'bench_sharded'),
      directFloats: await timed(readers.float32, 'bench_sharded'),
    };
    const ratio = (x: number, base: number) => `${(x / base).toFixed(2)}×`;
    const k = defaultReadParallelism();
    console.log(
      renderTable(
        ['benchmark (2 backends + head, 28×28 noise PNGs)', 'rows/s', 'ratio'],
        [
          ['import (a) one server', Math.round(median(imports.plain)), '1.00× (baseline)'],
          [
            'import (b) sharded, through the head',
            Math.round(median(imports.head)),
            ratio(median(imports.head), median(imports.plain)),
          ],
          [
            'import (c) sharded, each batch routed to its backends',
            Math.round(median(imports.sharded)),
            `${ratio(median(imports.sharded), median(imports.plain))} ` +
              `(${ratio(median(imports.sharded), median(imports.head))} of (b))`,
          ],
          ['read → Float32 (a) one server, row objects, 1 connection', Math.round(read.plainOld), '1.00× (baseline)'],
          [
            `read → training matrix (a) one server, bulk reader (${k} conn.)`,
            Math.round(read.plainBulk),
            `${ratio(read.plainBulk, read.plainOld)} (target ≥ 3×)`,
          ],
          [
            '  … and scaled to one Float32 buffer',
            Math.round(read.plainBulkFloats),
            ratio(read.plainBulkFloats, read.plainOld),
          ],
          ['read → Float32 (b) sharded, through the head, row objects', Math.round(read.headOld), '1.00× (baseline)'],
          [
            'read → training matrix (c) sharded, each backend directly',
            Math.round(read.direct),
            `${ratio(read.direct, read.headOld)} (target ≥ 2×)`,
          ],
          [
            '  … and scaled to one Float32 buffer',
            Math.round(read.directFloats),
            ratio(read.directFloats, read.headOld),
          ],
        ],
        ['left', 'right', 'left'],
      ),
    );
    console.log(
      `${images.toLocaleString('en-US')} images, ${rounds} rounds (median); import rounds: ` +
        `one server ${imports.plain.map(Math.round).join(', ')}; through the head ` +
        `${imports.head.map(Math.round).join(', ')}; routed ${imports.sharded.map(Math.round).join(', ')}`,
    );
  } finally {
    await mldb.close();
    await stopCluster([cluster.head.pid, ...cluster.shards.map((s) => s.pid)]);
    fs.rmSync(work, { recursive: true, force: true });
  }
}
