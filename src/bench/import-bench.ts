import fs from 'node:fs';
import { resolveConfig, type MldbConfig } from '../config';
import { originalPages } from '../db/dataset-rows';
import { insertLikeTheOriginal } from '../db/original-method';
import { walkLabeledFolder } from '../ingest/walk-labeled-folder';
import { decodeImage, decodeToShape } from '../images/decode';
import { MlDb } from '../mldb';
import { readPixelMatrix, scaleRows } from '../samples/pixel-matrix';
import { renderTable } from '../ui/table';
import { median } from './server';
import sharp from 'sharp';

export interface Figure {
  what: string;
  perSecond: number;
}

/** The original InsertData2Table: one INSERT per file, one commit at the end (mysql2 execute). */
async function originalMethod(config: MldbConfig, dir: string): Promise<number> {
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

  // Extraction: the whole table as one Float32 tensor-ready buffer.
  const table = 'bench_import_0';
  const ds = (await mldb.describe(table)).dataset;
  const shape = ds.shape!;
  const t0 = performance.now();
  // Loaded as training holds it (stored bytes), then every row scaled: one Float32 buffer, as before.
  const m = await readPixelMatrix(conn, table, shape, {});
  const per = shape.height * shape.width * shape.channels;
  scaleRows(
    m,
    Int32Array.from({ length: m.count }, (_, i) => i),
    per,
  );
  const storedRate = m.count / ((performance.now() - t0) / 1000);

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
    ...Object.entries(decodeRates).map(([k, v]) => ({
      what: `extract: decode originals on every read, ${k}`,
      perSecond: v,
    })),
  ];
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
        [figures[2].what, Math.round(figures[2].perSecond), '—'],
        ...figures
          .slice(3)
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
