import fs from 'node:fs';
import mysql from 'mysql2/promise';
import { resolveConfig } from '../config';
import { escapeId } from '../db/identifiers';
import { walkLabeledFolder } from '../ingest/walk-labeled-folder';
import { decodeImage, decodeToShape } from '../images/decode';
import { MlDb } from '../mldb';
import { readPixelMatrix } from '../samples/pixel-matrix';
import { renderTable } from '../ui/table';
import sharp from 'sharp';

export interface Figure {
  what: string;
  perSecond: number;
}

/** The original InsertData2Table: one INSERT per file, one commit at the end (mysql2 execute). */
async function originalMethod(url: string, dir: string): Promise<number> {
  const conn = await mysql.createConnection({ uri: url });
  await conn.query('DROP TABLE IF EXISTS orig_method');
  await conn.query('CREATE TABLE orig_method (lable INT, picdata BLOB, datasize INT)');
  const files = walkLabeledFolder(dir).files;
  const t0 = performance.now();
  await conn.beginTransaction();
  for (const f of files) {
    const bytes = fs.readFileSync(f.path);
    await conn.execute('INSERT INTO orig_method (lable, picdata, datasize) VALUES (?, ?, ?)', [
      Number(f.label),
      bytes,
      20,
    ]);
  }
  await conn.commit();
  const seconds = (performance.now() - t0) / 1000;
  await conn.end();
  return files.length / seconds;
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
    await conn.run(`DROP TABLE IF EXISTS ${escapeId(table)}`);
    await conn.run('DELETE FROM mldb_datasets WHERE name = ?', [table]).catch(() => undefined);
    // Alternate the order so that neither method always gets the warmer cache.
    if (i % 2 === 0) {
      ours.push(await mldbImport(mldb, dir, table));
      theirs.push(await originalMethod(url, dir));
    } else {
      theirs.push(await originalMethod(url, dir));
      ours.push(await mldbImport(mldb, dir, table));
    }
  }

  // Extraction: the whole table as one Float32 tensor-ready buffer.
  const table = 'bench_import_0';
  const ds = (await mldb.describe(table)).dataset;
  const shape = ds.shape!;
  const t0 = performance.now();
  const m = await readPixelMatrix(conn, table, shape, {});
  const storedRate = m.count / ((performance.now() - t0) / 1000);

  const decodeRates: Record<string, number> = {};
  for (const decoder of ['mldb (jpeg-js/pngjs)', 'sharp (libvips)'] as const) {
    const t1 = performance.now();
    let afterId = 0;
    let n = 0;
    const out = new Float32Array(m.count * shape.height * shape.width * shape.channels);
    for (;;) {
      const rows = await conn.query<{ id: number; original: Buffer }>(
        `SELECT id, original FROM ${escapeId(table)} WHERE id > ? ORDER BY id LIMIT 1000`,
        [afterId],
      );
      if (rows.length === 0) break;
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
      afterId = Number(rows[rows.length - 1].id);
    }
    decodeRates[decoder] = n / ((performance.now() - t1) / 1000);
  }
  void decodeImage;
  await mldb.close();

  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const figures: Figure[] = [
    { what: 'import: mldb (hash + decode + pixels + batched INSERT)', perSecond: med(ours) },
    { what: 'import: original method (INSERT per file, one commit)', perSecond: med(theirs) },
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
