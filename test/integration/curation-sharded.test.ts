import fs from 'node:fs';
import path from 'node:path';
import { resolveConfig } from '../../src/config';
import { migrate, MIGRATIONS } from '../../src/db/migrations';
import { startDashboard } from '../../src/dashboard/server';
import { MlDb } from '../../src/mldb';
import { readPixelRows } from '../../src/samples/bulk-read';
import { openSampleSource } from '../../src/samples/sample-source';
import { mldb } from '../helpers/cli';
import { makeLabeledFolder, SAMPLE_DIGITS, tempDir } from '../helpers/fixtures';
import { request } from '../helpers/http';
import { startTestCluster, type TestCluster } from '../helpers/spider';

/**
 * Versions of a table sharded by a real Spider head over two real backends: imports make versions,
 * edits go through the head in one transaction (all or nothing over every backend), and TABLE@N
 * reads the old rows, labels, splits and bytes.
 */
let cluster: TestCluster;
const opened: MlDb[] = [];

function open(database: string, env: Record<string, string> = {}): MlDb {
  const m = new MlDb({ config: resolveConfig({ url: cluster.url(database) }, env, '/nonexistent-cwd-for-tests') });
  opened.push(m);
  return m;
}

function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (e.isFile())
      out[path.relative(dir, path.join(e.parentPath, e.name))] = fs
        .readFileSync(path.join(e.parentPath, e.name))
        .toString('hex');
  return out;
}

/** Every row as each backend holds it, bypassing the head. */
async function onBackends(database: string, table: string): Promise<Array<Array<[number, string, string, number]>>> {
  const out = [];
  for (const i of [0, 1]) {
    const rows = await cluster.onShard<{ id: number; label: string; split: string; version: number }>(
      i,
      database,
      `SELECT id, label, split, version FROM ${table} ORDER BY id`,
    );
    out.push(rows.map((r) => [Number(r.id), r.label, r.split, Number(r.version)] as [number, string, string, number]));
  }
  return out;
}

const state = async (m: MlDb, name: string) =>
  (await m.rows(name, { limit: 1000 })).map((r) => [r.id, r.label, r.split]);

beforeAll(async () => {
  cluster = await startTestCluster(2);
});

afterAll(async () => {
  await Promise.all(opened.map((m) => m.close()));
  await cluster.stop();
});

test('imports make versions; edits go through the head; @N reads rows, show, export and bulk reads', async () => {
  const m = open('cur');
  await m.createTable('history', { shards: 'all' });
  await m.insertFolder(makeLabeledFolder({ a: 20, b: 20, c: 20 }, 8), { table: 'history' });
  const versions = await m.versions('history');
  expect(versions[0]).toMatchObject({ version: 0, kind: 'create', rows: 0 });
  expect(versions.slice(1).every((v) => v.kind === 'import')).toBe(true);
  expect(versions.slice(1).reduce((n, v) => n + v.rows, 0)).toBe(60);
  const v1 = versions.at(-1)!.version;
  // Each backend's rows carry the version of the batch that wrote them.
  const backends = await onBackends('cur', 'history');
  expect(backends[0].length).toBeGreaterThan(0);
  expect(backends[1].length).toBeGreaterThan(0);
  for (const rows of backends) for (const r of rows) expect(r[3]).toBeGreaterThanOrEqual(1);

  const before = await m.rows('history', { limit: 1000 });
  const shown = await m.describe('history');
  const exported = tempDir();
  await m.exportTable(exported, { table: 'history' });
  const conn = await m.connection();
  const per = 8 * 8; // the folder's images are stored as 8×8 grayscale
  const bulk = await readPixelRows(conn, 'history', { split: 'train' }, per);

  // Ids from both backends in every edit, train rows first: the streamed read below then needs
  // the bytes of rows removed since from history.
  const rank = (id: number) => ['train', 'validation', 'test'].indexOf(before.find((r) => r.id === id)!.split);
  const [one, two] = backends.map((rows) => rows.map((r) => r[0]).sort((x, y) => rank(x) - rank(y) || x - y));
  expect([one[3], two[2], two[3]].map(rank)).toEqual([0, 0, 0]);
  const relabelled = await m.relabel('history', [one[0], two[0], one[1]], 'z');
  expect(relabelled).toMatchObject({ changed: 3, version: v1 + 1 });
  const moved = await m.moveSplit('history', [one[2], two[1]], 'test');
  expect(moved.version).toBe(v1 + 2);
  const removed = await m.removeRows('history', { ids: [one[3], two[2], two[3]] });
  expect(removed).toMatchObject({ changed: 3, version: v1 + 3 });
  await m.insertFolder(makeLabeledFolder({ d: 5 }, 12), { table: 'history' });
  expect((await m.versions('history')).map((v) => v.kind).slice(-4)).toEqual(['relabel', 'move', 'remove', 'import']);

  // The backends hold the current state; the removed rows are gone from them.
  const now = (await onBackends('cur', 'history')).flat();
  expect(now).toContainEqual([one[0], 'z', before.find((r) => r.id === one[0])!.split, v1 + 1]);
  expect(now.find((r) => r[0] === two[1])).toMatchObject([two[1], expect.any(String), 'test', v1 + 2]);
  for (const id of [one[3], two[2], two[3]]) expect(now.find((r) => r[0] === id)).toBeUndefined();
  expect(await m.rows('history', { limit: 1000 })).toHaveLength(60 - 3 + 5);

  // The old version reads exactly as it was: rows, show, export, the bulk reader training uses.
  expect(await m.rows(`history@${v1}`, { limit: 1000 })).toEqual(before);
  expect(await m.rows(`history@${v1}`, { label: 'a', limit: 1000 })).toEqual(before.filter((r) => r.label === 'a'));
  expect(await m.describe(`history@${v1}`)).toEqual({ ...shown, version: v1 });
  const again = tempDir();
  await m.exportTable(again, { table: `history@${v1}` });
  expect(files(again)).toEqual(files(exported));
  const old = await readPixelRows(conn, 'history', { split: 'train', asOf: v1 }, per);
  expect(old.ids).toEqual(bulk.ids);
  expect(old.labels).toEqual(bulk.labels);
  expect(Buffer.from(old.pixels).equals(Buffer.from(bulk.pixels))).toBe(true);
  // Streamed (rows above the memory budget): the same rows, those removed since from history.
  const shape = { height: 8, width: 8, channels: 1 };
  const streamed = await openSampleSource(
    conn,
    'history',
    shape,
    { split: 'train', asOf: v1 },
    {
      memoryBudget: 1,
      batchSize: 4,
    },
  );
  expect(streamed.streaming).toBe(true);
  const bytes: number[] = [];
  for await (const b of streamed.batches(
    Array.from({ length: old.count }, (_, i) => i),
    4,
  ))
    for (const x of b.xs) bytes.push(Math.round(x * 255));
  expect(Buffer.from(bytes).equals(Buffer.from(bulk.pixels))).toBe(true);

  const diff = await m.diff(`history@${v1}`, 'history');
  expect([diff.added.length, diff.removed.length, diff.relabelled.length, diff.moved.length]).toEqual([5, 3, 3, 2]);

  // Purge forgets the versions before the last: their history (the removed rows' bytes with it).
  const last = (await m.versions('history')).at(-1)!.version;
  const purged = await m.purge('history', String(last));
  expect(purged).toMatchObject({ removedRows: 3 });
  expect(purged.historyRows).toBeGreaterThanOrEqual(8);
  await expect(m.rows(`history@${v1}`)).rejects.toThrow(/has no version/);
  expect(await m.rows(`history@${last}`, { limit: 1000 })).toEqual(await m.rows('history', { limit: 1000 }));
});

test('an edit is all or nothing over every backend: one refusing its part, an unknown id, one stopped', async () => {
  const m = open('atomic');
  await m.createTable('atomic', { shards: 'all' });
  await m.insertFolder(makeLabeledFolder({ a: 10, b: 10 }, 8), { table: 'atomic' });
  const ids = (await onBackends('atomic', 'atomic')).map((rows) => rows.map((r) => r[0]));
  const before = await state(m, 'atomic');
  const kinds = (await m.versions('atomic')).map((v) => v.kind);
  const history = async () =>
    (
      await cluster.onHead<{ n: number }>("SELECT COUNT(*) AS n FROM atomic.mldb_row_history WHERE dataset = 'atomic'")
    )[0].n;

  // The second backend refuses its part after the head kept the history and the first backend
  // changed its rows, inside the transaction: everything is rolled back, on both backends and the head.
  for (const [event, test] of [
    ['UPDATE', "NEW.label = 'boom' OR NEW.split <> OLD.split"],
    ['DELETE', 'TRUE'],
  ])
    await cluster.onShard(
      1,
      'atomic',
      `CREATE TRIGGER refuse_${event.toLowerCase()} BEFORE ${event} ON atomic FOR EACH ROW
       BEGIN IF ${test} THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the backend'; END IF; END`,
    );
  const both = [ids[0][0], ids[0][1], ids[1][0], ids[1][1]];
  await expect(m.relabel('atomic', both, 'boom')).rejects.toThrow(/refused by the backend/);
  await expect(m.moveSplit('atomic', both, 'validation')).rejects.toThrow(/refused by the backend/);
  await expect(m.removeRows('atomic', { ids: both })).rejects.toThrow(/refused by the backend/);
  expect(await state(m, 'atomic')).toEqual(before);
  expect(await history()).toBe(0);
  expect((await m.versions('atomic')).map((v) => v.kind)).toEqual(kinds);
  await cluster.onShard(1, 'atomic', 'DROP TRIGGER refuse_update');
  await cluster.onShard(1, 'atomic', 'DROP TRIGGER refuse_delete');

  await expect(m.relabel('atomic', [ids[0][0], 999_999], 'z')).rejects.toThrow(
    /has no row 999999; nothing was changed/,
  );
  expect(await state(m, 'atomic')).toEqual(before);
  const cli = mldb(['relabel', 'atomic', String(ids[1][0]), '424242', '--to', 'z'], {
    MLDB_URL: cluster.url('atomic'),
  });
  expect(cli.code).toBe(4);
  expect(cli.stderr.trim().split('\n')).toHaveLength(1);
  expect(cli.stderr).toMatch(/no row 424242/);
  expect(await state(m, 'atomic')).toEqual(before);

  // A backend that stops answering: the edit fails naming it once the bound passes; nothing changed.
  const quick = open('atomic', { MLDB_BACKEND_TIMEOUT: '3' });
  await quick.rows('atomic', { limit: 1 });
  process.kill(cluster.shards[1].pid, 'SIGSTOP');
  try {
    await expect(quick.removeRows('atomic', { ids: both })).rejects.toMatchObject({
      subject: 'mldb_shard_2',
      exitCode: 3,
    });
  } finally {
    process.kill(cluster.shards[1].pid, 'SIGCONT');
  }
  expect(await state(m, 'atomic')).toEqual(before);
  expect(await history()).toBe(0);
  expect((await m.versions('atomic')).map((v) => v.kind)).toEqual(kinds);

  // And the same edit, once nothing refuses it, is one version over both backends.
  expect(await m.removeRows('atomic', { ids: both })).toMatchObject({ changed: 4 });
  expect((await onBackends('atomic', 'atomic')).flat()).toHaveLength(16);
});

test('edits through the head while a routed import writes to the backends: each change its own version', async () => {
  const m = open('busy');
  await m.createTable('busy', { shards: 'all' });
  await m.insertFolder(makeLabeledFolder({ a: 20, b: 20 }, 8), { table: 'busy' });
  const rows = await m.rows('busy', { limit: 1000 });
  const importing = m.insertFolder(makeLabeledFolder({ c: 400, d: 400 }, 8, undefined, 5000), { table: 'busy' });
  for (let i = 0; i < 10; i++) {
    await m.relabel('busy', [rows[i].id, rows[20 + i].id], `e${i}`);
    if (i % 3 === 0) await m.removeRows('busy', { ids: [rows[30 + i].id] });
  }
  expect((await importing).imported).toBe(800);

  const versions = await m.versions('busy');
  const numbers = versions.map((v) => v.version);
  expect(new Set(numbers).size).toBe(numbers.length);
  const sum = (kind: string) => versions.filter((v) => v.kind === kind).reduce((n, v) => n + v.rows, 0);
  expect([sum('import'), sum('relabel'), sum('remove')]).toEqual([40 + 800, 20, 4]);
  const now = await m.rows('busy', { limit: 5000 });
  expect(now).toHaveLength(40 + 800 - 4);
  for (let i = 0; i < 10; i++) expect(now.find((r) => r.id === rows[i].id)?.label).toBe(`e${i}`);
  expect(await m.rows(`busy@${numbers.at(-1)}`, { limit: 5000 })).toEqual(now);
  expect(await m.rows(`busy@${numbers[1]}`, { limit: 5000 })).toEqual(rows);
});

test("train --like run:ID on a sharded table reads that run's rows after edits: the fingerprint is equal", async () => {
  const m = open('runs');
  await m.createTable('digits', { shards: 'all' });
  await m.insertFolder(SAMPLE_DIGITS, { table: 'digits' });
  const options = {
    model: 'lenet5',
    epochs: 1,
    batchSize: 16,
    seed: 3,
    backend: 'wasm' as const,
    store: false as const,
  };
  const first = await m.train({ table: 'digits', ...options, save: tempDir() });
  expect(first.tableVersion).toBe((await m.versions('digits')).at(-1)!.version);

  const train = (await m.rows('digits', { split: 'train', limit: 100 })).map((r) => r.id);
  await m.relabel('digits', train.slice(0, 5), train.length % 2 ? '3' : '4');
  await m.removeRows('digits', { ids: train.slice(10, 20) });
  await m.moveSplit('digits', train.slice(30, 35), 'test');
  const now = await m.train({ table: 'digits', ...options, save: tempDir() });
  expect(now.fingerprint).not.toEqual(first.fingerprint);

  const like = mldb(['train', '--like', `run:${first.runId}`, '--no-store', '--save', tempDir(), '--json'], {
    MLDB_URL: cluster.url('runs'),
  });
  expect(like.code).toBe(0);
  const report = JSON.parse(like.stdout);
  expect(report.fingerprint).toEqual(first.fingerprint);
  expect(report.tableVersion).toBe(first.tableVersion);
  expect(report.split).toEqual(first.split);
});

test('a sharded table from before versions upgrades in place: a version column on backends and head', async () => {
  const m = open('legacy');
  await m.createTable('old', { shards: 'all' });
  await m.insertFolder(makeLabeledFolder({ a: 6, b: 6 }, 8), { table: 'old' });
  const conn = await m.connection();
  // The database as schema 13 left a sharded table: no version column anywhere, no versions.
  const step = MIGRATIONS.find((x) => x.name.startsWith('versions of sharded tables'))!;
  for (const i of [0, 1]) await cluster.onShard(i, 'legacy', 'ALTER TABLE old DROP COLUMN version');
  await conn.run('ALTER TABLE old DROP COLUMN version');
  await conn.run("DELETE FROM mldb_table_versions WHERE dataset = 'old'");
  await conn.run("UPDATE mldb_datasets SET version = 0 WHERE name = 'old'");
  await conn.run('DELETE FROM mldb_schema WHERE version >= ?', [step.version]);
  const before = await m.rows('old', { limit: 100 });
  expect(before).toHaveLength(12);

  const upgraded = await migrate(conn);
  expect(upgraded.applied).toEqual(MIGRATIONS.filter((x) => x.version >= step.version).map((x) => x.name));
  const columns =
    "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_NAME = 'old' AND COLUMN_NAME = 'version'";
  for (const i of [0, 1]) expect(Number((await cluster.onShard<{ n: number }>(i, 'legacy', columns))[0].n)).toBe(1);
  expect(Number((await conn.query<{ n: number }>(`${columns} AND TABLE_SCHEMA = 'legacy'`))[0].n)).toBe(1);
  const partitions = await conn.query<{ comment: string }>(
    'SELECT PARTITION_COMMENT AS comment FROM information_schema.PARTITIONS ' +
      "WHERE TABLE_SCHEMA = 'legacy' AND TABLE_NAME = 'old' ORDER BY PARTITION_ORDINAL_POSITION",
  );
  expect(partitions.map((p) => p.comment)).toEqual(['srv "mldb_shard_1"', 'srv "mldb_shard_2"']);
  expect((await m.versions('old')).map((v) => [v.version, v.kind, v.rows])).toEqual([[0, 'baseline', 12]]);
  expect(await m.rows('old', { limit: 100 })).toEqual(before);
  // Killed between the step and its record: the step runs again, harmlessly.
  await step.up(conn, conn);

  expect(await m.relabel('old', [before[0].id, before[1].id], 'c')).toMatchObject({ changed: 2, version: 1 });
  await m.insertFolder(makeLabeledFolder({ d: 2 }, 12), { table: 'old' });
  expect((await m.versions('old')).map((v) => v.kind)).toEqual(['baseline', 'relabel', 'import']);
  expect(await m.rows('old@0', { limit: 100 })).toEqual(before);
});

test("the dashboard lists a sharded table's versions, diffs them and relabels through the head", async () => {
  const m = open('curdash');
  await m.createTable('dash', { shards: 'all' });
  await m.insertFolder(makeLabeledFolder({ a: 6, b: 6 }, 8), { table: 'dash' });
  const token = 'sharded-dashboard-token-0123';
  const { app } = await startDashboard({ host: '127.0.0.1', port: 0, token, connect: () => m.connection() });
  try {
    const port = (app.server.address() as { port: number }).port;
    const auth = { Authorization: `Bearer ${token}` };
    const ids = (await onBackends('curdash', 'dash')).map((rows) => rows[0][0]); // one id on each backend
    const before = (await m.versions('dash')).at(-1)!.version;
    const edit = await request(port, '/api/tables/dash/relabel', auth, { method: 'POST', body: { ids, label: 'z' } });
    expect(edit.status).toBe(200);
    expect(edit.body).toMatchObject({ changed: 2, version: before + 1 });
    expect((await onBackends('curdash', 'dash')).map((rows) => rows[0][1])).toEqual(['z', 'z']);
    const listed = await request(port, '/api/tables/dash/versions', auth);
    expect((listed.body.versions as Array<{ version: number; kind: string }>)[0]).toMatchObject({
      version: before + 1,
      kind: 'relabel',
    });
    const diff = await request(port, `/api/tables/dash/diff?from=${before}&to=${before + 1}`, auth);
    expect(diff.status).toBe(200);
    expect(JSON.stringify(diff.body)).toContain('"z"');
    // Without the token: refused, nothing changed.
    const refused = await request(port, '/api/tables/dash/remove', {}, { method: 'POST', body: { ids } });
    expect(refused.status).toBe(401);
    expect((await m.rows('dash', { limit: 100 })).length).toBe(12);
  } finally {
    await app.close();
  }
});
