import { resolveConfig } from '../config';
import crypto from 'node:crypto';
import { copyWithoutVersions, dropCopy } from '../db/layout-copies';
import { insertRows, type NewRow } from '../db/row-writes';
import { insertVersioned } from '../db/versioned-writes';
import { rowKeys } from '../db/pixel-reads';
import { getDataset, requireShape } from '../db/registry';
import { listVersions } from '../db/table-versions';
import { importImages } from '../ingest/import-pipeline';
import { MlDb } from '../mldb';
import { readPixelMatrix } from '../samples/pixel-matrix';
import { median } from './server';
import { noisePng } from './synthetic-images';

const ROWS = 60_000;
const LABELS = [...Array(10).keys()].map(String);

/** Median seconds of `rounds` runs of `fn`. */
async function seconds(rounds: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

/**
 * `npm run bench -- curation`: what versions cost on a 60,000-row 28×28 table. The current read (the
 * bulk reader training uses, train split) on the table as it is against a copy without the
 * `version` column and index (the layout before versions; the read's statements are the same),
 * after 100 versions; an old version's read; edits of 1,000 rows.
 */
export async function curationBench(dbUrl: string): Promise<void> {
  const mldb = new MlDb({ config: resolveConfig({ url: dbUrl, table: 'bench_curation' }, {}, '/') });
  try {
    await mldb.dropTable('bench_curation').catch(() => undefined);
    const db = await mldb.connection();
    const items = [...Array(ROWS).keys()].map((i) => ({
      label: LABELS[i % 10],
      relative: `${LABELS[i % 10]}/${i}.png`,
      path: `${i}.png`,
      bytes: noisePng(28, 28, i + 1),
    }));
    await importImages(db, items, {
      table: 'bench_curation',
      create: true,
      shape: { height: 28, width: 28, channels: 1 },
    });
    const shape = requireShape(await getDataset(db, 'bench_curation'));
    const afterImport = (await listVersions(db, 'bench_curation')).at(-1)!.version;
    await copyWithoutVersions(db, 'bench_curation', 'bench_curation_before');
    const read =
      (filter: { asOf?: number }, table = 'bench_curation') =>
      () =>
        readPixelMatrix(db, table, shape, { split: 'train', ...filter });
    await read({})();
    const before = await seconds(7, read({}, 'bench_curation_before'));
    const current = await seconds(7, read({}));
    console.log(`versions after the import: ${afterImport} (one per import batch)`);
    console.log(
      `current read, train split: ${current.toFixed(3)} s; same rows without versions ${before.toFixed(3)} s`,
    );

    const { ids } = await rowKeys(db, 'bench_curation', {});
    const thousand = (k: number) => ids.slice(k * 1000, (k + 1) * 1000);
    const relabel = await seconds(1, () => mldb.relabel('bench_curation', thousand(1), 'x'));
    const move = await seconds(1, () => mldb.moveSplit('bench_curation', thousand(2), 'test'));
    const remove = await seconds(1, () => mldb.removeRows('bench_curation', { ids: thousand(3) }));
    console.log(
      `edit of 1,000 rows: relabel ${relabel.toFixed(3)} s, move ${move.toFixed(3)} s, remove ${remove.toFixed(3)} s`,
    );
    for (let v = 0; v < 100; v++)
      await mldb.relabel('bench_curation', ids.slice(10_000 + v * 10, 10_010 + v * 10), `v${v % 3}`);
    const versions = (await listVersions(db, 'bench_curation')).length;
    const after = await seconds(7, read({}));
    const old = await seconds(7, read({ asOf: afterImport }));
    const ratio = (x: number, y: number) => `×${(x / y).toFixed(2)}`;
    console.log(
      `after ${versions} versions and 4,000 edited rows: current read ${after.toFixed(3)} s ` +
        `(${ratio(after, before)} of without versions)`,
    );
    console.log(
      `old version (@${afterImport}, before every edit): ${old.toFixed(3)} s ` +
        `(${ratio(old, after)} of the current read)`,
    );
    const page = { limit: 1000, afterId: ids[30_000] };
    const rowsPage = await seconds(7, () => mldb.rows(`bench_curation@${afterImport}`, page));
    const rowsNow = await seconds(7, () => mldb.rows('bench_curation', page));
    console.log(
      `a page of 1,000 rows (rows): current ${(rowsNow * 1000).toFixed(1)} ms, ` +
        `@${afterImport} ${(rowsPage * 1000).toFixed(1)} ms`,
    );
    await importCost(mldb);
  } finally {
    const db = await mldb.connection();
    await dropCopy(db, 'bench_curation_before').catch(() => undefined);
    await dropCopy(db, 'bench_curation_ins_before').catch(() => undefined);
    await mldb.dropTable('bench_curation_ins').catch(() => undefined);
    await mldb.dropTable('bench_curation').catch(() => undefined);
    await mldb.close();
  }
}

/**
 * An import's writes with and without versions: 20,000 rows of 28×28 in batches of 500, as one
 * INSERT each into a table in the layout before versions, against insertVersioned (a version
 * number, the INSERT and the version's record in one transaction). Medians of 3, alternating.
 */
async function importCost(mldb: MlDb): Promise<void> {
  const db = await mldb.connection();
  const rows: NewRow[] = [...Array(20_000).keys()].map((i) => ({
    label: LABELS[i % 10],
    split: 'train',
    sha256: crypto.createHash('sha256').update(`row ${i}`).digest(),
    source: `${LABELS[i % 10]}/${i}.png`,
    format: 'png',
    width: 28,
    height: 28,
    original: crypto.randomBytes(900),
    pixels: crypto.randomBytes(784),
  }));
  const batches = [...Array(rows.length / 500).keys()].map((b) => rows.slice(b * 500, (b + 1) * 500));
  const plain: number[] = [];
  const versioned: number[] = [];
  for (let round = 0; round < 3; round++) {
    await mldb.dropTable('bench_curation_ins').catch(() => undefined);
    await mldb.createTable('bench_curation_ins', { shape: { height: 28, width: 28, channels: 1 } });
    await copyWithoutVersions(db, 'bench_curation_ins', 'bench_curation_ins_before');
    let t0 = performance.now();
    for (const batch of batches) await insertRows(db, 'bench_curation_ins_before', batch);
    plain.push((performance.now() - t0) / 1000);
    t0 = performance.now();
    for (const batch of batches) await insertVersioned(db, 'bench_curation_ins', batch, 'import');
    versioned.push((performance.now() - t0) / 1000);
  }
  const [a, b] = [median(plain), median(versioned)];
  console.log(
    `import writes, 20,000 rows in batches of 500: ${a.toFixed(3)} s without versions, ${b.toFixed(3)} s with ` +
      `(×${(b / a).toFixed(2)})`,
  );
}
