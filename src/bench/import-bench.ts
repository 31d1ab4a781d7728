import fs from 'node:fs';
import { resolveConfig, type MldbConfig } from '../config';
import { originalPages } from '../db/pixel-reads';
import { insertLikeTheOriginal } from './original-method';
import { walkLabeledFolder } from '../ingest/walk-labeled-folder';
import { decodeImage, decodeToShape } from '../images/decode';
import { MlDb } from '../mldb';
import { readPixelMatrix } from '../samples/pixel-matrix';
import { renderTable } from '../ui/table';
import { median } from './server';
import { rowsPerSecond, tableReaders } from './table-readers';
import sharp from 'sharp';

export interface Figure {
  what: string;
  perSecond: number;
}

/** The original InsertData2Table: one INSERT per file, one commit at the end (mysql2 execute). */
export async function originalMethod(config: MldbConfig, dir: string): Promise<number> {
  const files = walkLabeledFolder(dir).files;
  const t0 = performance.now();
  const n = await insertLikeTheOriginal(
    config,
    files.map((f) => ({ label: f.label, bytes: fs.readFileSync(f.path) })),
  );
  return n / ((performance.now() - t0) / 1000);
}

async function mldbImport(mldb: MlDb, dir: string, table: string): Promise<number> {
  const t0 = performance.now();
  const s = await mldb.insertFolder(dir, { table, create: true });
  return s.files / ((performance.now() - t0) / 1000);
}

/** Extraction is measured this many times each (median): one load is a few milliseconds. */
const EXTRACT_ROUNDS = 15;

export async function importBench(url: string, dir: string, rounds = 3): Promise<Figure[]> {
  const mldb = new MlDb({ config: resolveConfig({ url }, {}, '/') });
  const conn = await mldb.connection();
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const table = `bench_import_${i}`;
    await mldb.dropTable(table).catch(() => undefined);
    // Alternate the order so that neither method always gets the warmer cache.
    if (i % 2 === 0) {
      ours.push(await mldbImport(mldb, dir, table));
      theirs.push(await originalMethod(mldb.config, dir));
    } else {
      theirs.push(await originalMethod(mldb.config, dir));
      ours.push(await mldbImport(mldb, dir, table));
    }
  }

  // Extraction, EXTRACT_ROUNDS times each (median): the reader mldb had first (row objects →
  // one Float32 buffer, the baseline) against the bulk reader (rows → the training matrix), and
  // the bulk reader followed by scaling every row to one Float32 buffer (like for like).
  const table = 'bench_import_0';
  const ds = (await mldb.describe(table)).dataset;
  const shape = ds.shape!;
  const readers = tableReaders(conn, shape);
  await readers.rowObjects(table); // one untimed pass each: the server's cache and the JIT warm
  await readers.float32(table);
  const extract = {
    before: await rowsPerSecond(readers.rowObjects, table, EXTRACT_ROUNDS),
    matrix: await rowsPerSecond(readers.trainingMatrix, table, EXTRACT_ROUNDS),
    float32: await rowsPerSecond(readers.float32, table, EXTRACT_ROUNDS),
  };
  const storedRate = extract.float32;
  const m = await readPixelMatrix(conn, table, shape, {});

  const decodeRates: Record<string, number> = {};
  for (const decoder of ['mldb (jpeg-js/pngjs)', 'sharp (libvips)'] as const) {
    const t1 = performance.now();
    let n = 0;
    const out = new Float32Array(m.count * shape.height * shape.width * shape.channels);
    for await (const rows of originalPages(conn, table)) {
      for (const r of rows) {
        const px = decoder.startsWith('sharp')
          ? await sharp(r.original)
              .resize(shape.width, shape.height, { fit: 'fill' })
              .toColourspace('b-w')
              .raw()
              .toBuffer()
          : await decodeToShape(r.original, shape);
        const base = n * px.length;
        for (let k = 0; k < px.length; k++) out[base + k] = px[k] / 255;
        n++;
      }
    }
    decodeRates[decoder] = n / ((performance.now() - t1) / 1000);
  }
  void decodeImage;
  await mldb.close();

  const figures: Figure[] = [
    { what: 'import: mldb (hash + decode + pixels + batched INSERT)', perSecond: median(ours) },
    { what: 'import: original method (INSERT per file, one commit)', perSecond: median(theirs) },
    { what: 'extract: stored pixels → Float32', perSecond: storedRate },
    { what: 'extract: stored pixels → training matrix', perSecond: extract.matrix },
    { what: 'extract: the first reader (row objects → Float32)', perSecond: extract.before },
    ...Object.entries(decodeRates).map(([k, v]) => ({
      what: `extract: decode originals on every read, ${k}`,
      perSecond: v,
    })),
  ];
  const ratio = (a: Figure, b: Figure) => `${(a.perSecond / b.perSecond).toFixed(2)}×`;
  console.log(
    renderTable(
      ['benchmark (../shared/filedata)', 'images/s', 'ratio'],
      [
        [
          figures[0].what,
          Math.round(figures[0].perSecond),
          `${(figures[0].perSecond / figures[1].perSecond).toFixed(2)}× (target ≥ 1.5×, goal 3×)`,
        ],
        [figures[1].what, Math.round(figures[1].perSecond), '1.00× (baseline)'],
        [figures[4].what, Math.round(figures[4].perSecond), '1.00× (baseline)'],
        [figures[3].what, Math.round(figures[3].perSecond), `${ratio(figures[3], figures[4])} (target ≥ 3×)`],
        [figures[2].what, Math.round(figures[2].perSecond), ratio(figures[2], figures[4])],
        ...figures
          .slice(5)
          .map((f) => [
            f.what,
            Math.round(f.perSecond),
            `stored is ${(storedRate / f.perSecond).toFixed(0)}× faster (target ≥ 50×)`,
          ]),
      ],
    ),
  );
  console.log(
    `import rounds (images/s): mldb ${ours.map(Math.round).join(', ')}; original ${theirs.map(Math.round).join(', ')}`,
  );
  return figures;
}
