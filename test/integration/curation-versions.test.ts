import fs from 'node:fs';
import path from 'node:path';
import { pixelPages, pixelsByIds } from '../../src/db/pixel-reads';
import { countRows, labels, splitCounts } from '../../src/db/table-stats';
import { readPixelRows } from '../../src/samples/bulk-read';
import { freshDatabase } from '../helpers/db';
import { makeLabeledFolder, SAMPLE_DIGITS, tempDir } from '../helpers/fixtures';
import { mldb } from '../helpers/cli';

/** Reading a table as an earlier version held it: rows, labels, splits and bytes, after edits. */
const db = freshDatabase();
afterAll(() => db.cleanup());

function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p).toString('hex');
    }
  };
  walk(dir);
  return out;
}

test('TABLE@N reads exactly that version after relabels, moves, removals and imports', async () => {
  const m = db.mldb('history');
  await m.insertFolder(makeLabeledFolder({ a: 30, b: 30, c: 30 }, 8), { create: true });
  const conn = await m.connection();
  const v1 = (await m.versions('history')).at(-1)!.version;
  const before = await m.rows('history', { limit: 1000 });
  const shown = await m.describe('history');
  const exported = tempDir();
  await m.exportTable(exported, { table: 'history' });
  const per = 8 * 8; // the folder's images are stored as 8×8 grayscale
  const bulk = await readPixelRows(conn, 'history', { split: 'train' }, per, { spanBytes: 4096 });

  const ids = before.map((r) => r.id);
  await m.relabel('history', ids.slice(0, 10), 'z');
  await m.moveSplit('history', ids.slice(5, 15), 'validation');
  await m.removeRows('history', { ids: ids.slice(12, 20) });
  await m.removeRows('history', { label: 'c' });
  await m.relabel('history', ids.slice(2, 4), 'y');
  await m.insertFolder(makeLabeledFolder({ a: 5, d: 5 }, 8, undefined, 500), { table: 'history' });
  expect((await m.rows('history', { limit: 1000 })).length).not.toBe(before.length);

  // rows, in one page and in small pages (each page merges the two branches by id)
  expect(await m.rows(`history@${v1}`, { limit: 1000 })).toEqual(before);
  const paged = [];
  for (let after = 0; ;) {
    const page = await m.rows(`history@${v1}`, { limit: 7, afterId: after });
    if (page.length === 0) break;
    paged.push(...page);
    after = page[page.length - 1].id;
  }
  expect(paged).toEqual(before);
  expect(await m.rows(`history@${v1}`, { label: 'a', split: 'train', limit: 1000 })).toEqual(
    before.filter((r) => r.label === 'a' && r.split === 'train'),
  );
  // show, export and the bulk reader that training uses
  expect(await m.describe(`history@${v1}`)).toEqual({ ...shown, version: v1 });
  const again = tempDir();
  await m.exportTable(again, { table: `history@${v1}` });
  expect(files(again)).toEqual(files(exported));
  const old = await readPixelRows(conn, 'history', { split: 'train', asOf: v1 }, per, { spanBytes: 4096 });
  expect(old.ids).toEqual(bulk.ids);
  expect(old.labels).toEqual(bulk.labels);
  expect(Buffer.concat(old.hashes)).toEqual(Buffer.concat(bulk.hashes));
  expect(Buffer.from(old.pixels)).toEqual(Buffer.from(bulk.pixels));
  // a removed row's bytes by id (the streaming reader's path), for an old version only
  expect((await pixelsByIds(conn, 'history', [ids[12]])).size).toBe(0);
  expect((await pixelsByIds(conn, 'history', [ids[12]], v1)).get(ids[12])?.length).toBe(per);

  // Every version in between reads as it was; a tag names one; an unknown version is refused.
  const versions = await m.versions('history');
  expect(versions.map((v) => v.kind)).toEqual([
    'create',
    'import',
    'relabel',
    'move',
    'remove',
    'remove',
    'relabel',
    'import',
  ]);
  const cli = mldb(['rows', `history@${v1 + 1}`, '--limit', '1000', '--json'], { MLDB_URL: db.url });
  expect(cli.code).toBe(0);
  const atRelabel = JSON.parse(cli.stdout).rows as Array<{ id: number; label: string }>;
  expect(atRelabel).toHaveLength(before.length);
  expect(atRelabel.filter((r) => r.label === 'z').map((r) => r.id)).toEqual(ids.slice(0, 10));
  await m.tag('history', 'raw', v1);
  expect(await m.rows('history@raw', { limit: 1000 })).toEqual(before);
  const missing = mldb(['show', 'history@99'], { MLDB_URL: db.url });
  expect(missing.code).toBe(4);
  expect(missing.stderr).toMatch(/table "history" has no version 99: list them with `mldb versions history`/);
});

test("train --like run:ID reads that run's rows and labels after edits: the fingerprint is equal", async () => {
  const m = db.mldb('digits');
  await m.insertFolder(SAMPLE_DIGITS, { create: true });
  const options = {
    model: 'lenet5',
    epochs: 1,
    batchSize: 16,
    seed: 3,
    backend: 'wasm' as const,
    store: false as const,
  };
  const firstDir = tempDir();
  const first = await m.train({ ...options, save: firstDir });
  expect(first.tableVersion).toBe((await m.versions('digits')).at(-1)!.version);
  expect((await m.run(first.runId!)).tableVersion).toBe(first.tableVersion);

  const train = (await m.rows('digits', { split: 'train', limit: 100 })).map((r) => r.id);
  await m.relabel('digits', train.slice(0, 5), train.length % 2 ? '3' : '4');
  await m.removeRows('digits', { ids: train.slice(10, 20) });
  await m.moveSplit('digits', train.slice(30, 35), 'test');
  await m.insertFolder(makeLabeledFolder({ 0: 10, 1: 10 }, 12), { table: 'digits' });
  const now = await m.train({ ...options, save: tempDir() });
  expect(now.fingerprint).not.toEqual(first.fingerprint);

  const env = { MLDB_URL: db.url };
  const like = mldb(['train', '--like', `run:${first.runId}`, '--no-store', '--save', tempDir(), '--json'], env);
  expect(like.code).toBe(0);
  const report = JSON.parse(like.stdout);
  expect(report.fingerprint).toEqual(first.fingerprint);
  expect(report.tableVersion).toBe(first.tableVersion);
  expect(report.split).toEqual(first.split);
  expect(report.labels).toEqual(first.labels);
  expect(report.hyperparameters).toEqual(first.hyperparameters);
  expect(report.test.accuracy).toBeCloseTo(first.test!.accuracy, 6);

  // evaluate and export read a version too: the run's test split as it was.
  const evaluated = mldb(
    ['evaluate', '--model', firstDir, '--table', `digits@${first.tableVersion}`, '--engine', 'tfjs', '--json'],
    env,
  );
  expect(evaluated.code).toBe(0);
  expect(JSON.parse(evaluated.stdout).count).toBe(first.split.test);
  const out = tempDir();
  expect(mldb(['export', `digits@${first.tableVersion}`, out, '--split', 'test', '--json'], env).stdout).toMatch(
    new RegExp(`"written": ${first.split.test}\\b`),
  );

  const both = mldb(['train', '--like', `run:${first.runId}`, '--rows-until', '5'], env);
  expect(both.code).toBe(2);
});

test('a subset of an old version (labels, excluded labels, sources) reads the rows that version held', async () => {
  const m = db.mldb('subsets');
  await m.insertFolder(makeLabeledFolder({ a: 12, b: 12, c: 12 }, 8), { create: true });
  const conn = await m.connection();
  const v1 = (await m.versions('subsets')).at(-1)!.version;
  const before = await m.rows('subsets', { limit: 1000 });
  const aIds = before.filter((r) => r.label === 'a').map((r) => r.id);
  // Since v1: some a's became b, some a's were removed, every c was removed.
  await m.relabel('subsets', aIds.slice(0, 4), 'b');
  await m.removeRows('subsets', { ids: aIds.slice(4, 7) });
  await m.removeRows('subsets', { label: 'c' });

  const old = (filter: Parameters<typeof splitCounts>[2]) => ({ ...filter, asOf: v1 });
  const total = (c: Record<string, number>) => Object.values(c).reduce((s, n) => s + n, 0);
  expect(await labels(conn, 'subsets', old({ labels: ['a', 'c'] }))).toEqual(['a', 'c']);
  expect(total(await splitCounts(conn, 'subsets', old({ labels: ['a'] })))).toBe(12);
  expect(total(await splitCounts(conn, 'subsets', old({ excludeLabels: ['b'] })))).toBe(24);
  expect(await countRows(conn, 'subsets', old({ labels: ['c'] }))).toBe(12);
  const source = before.find((r) => r.id === aIds[5])!.source;
  expect(await countRows(conn, 'subsets', old({ sources: source }))).toBe(1);
  const pages = [];
  for await (const page of pixelPages(conn, 'subsets', old({ labels: ['a'] }), 5)) pages.push(...page);
  expect(pages.map((r) => [r.id, r.label])).toEqual(aIds.map((id) => [id, 'a']));
  // The current version, for contrast: the relabelled and removed a's are gone from `a`.
  expect(await countRows(conn, 'subsets', { labels: ['a'] })).toBe(12 - 7);
});
