import crypto from 'node:crypto';
import { insertPredictions } from '../../src/db/predictions';
import { freshDatabase } from '../helpers/db';
import { makeLabeledFolder, rgbPng } from '../helpers/fixtures';
import { loggedPrediction } from '../helpers/records';
import { mldb } from '../helpers/cli';
import { mldbOnTerminal } from '../helpers/terminal';

/** Row edits: each one version, all or nothing, every earlier state kept in history. */
const db = freshDatabase();
afterAll(() => db.cleanup());

async function table(name: string, labels: Record<string, number> = { a: 6, b: 6 }) {
  const m = db.mldb(name);
  await m.insertFolder(makeLabeledFolder(labels, 8), { create: true });
  const rows = await m.rows(name, { limit: 1000 });
  return { m, rows, conn: await m.connection() };
}

const state = async (m: ReturnType<typeof db.mldb>, name: string) =>
  (await m.rows(name, { limit: 1000 })).map((r) => [r.id, r.label, r.split]);

test('relabel, rm-rows and move-split each make one version; versions lists them', async () => {
  const { m, rows } = await table('edits');
  const [r1, r2, r3] = rows;
  expect((await m.versions('edits')).map((v) => [v.version, v.kind, v.rows])).toEqual([
    [0, 'create', 0],
    [1, 'import', 12],
  ]);

  const relabelled = await m.relabel('edits', [r1.id, r2.id], 'c');
  expect(relabelled).toMatchObject({ kind: 'relabel', to: 'c', changed: 2, version: 2, dryRun: false });
  const moved = await m.moveSplit('edits', [r1.id], r1.split === 'test' ? 'train' : 'test');
  expect(moved).toMatchObject({ changed: 1, version: 3 });
  const removed = await m.removeRows('edits', { ids: [r3.id] });
  expect(removed).toMatchObject({ changed: 1, version: 4 });

  const now = await m.rows('edits', { limit: 1000 });
  expect(now).toHaveLength(11);
  expect(now.find((r) => r.id === r1.id)).toMatchObject({ label: 'c', split: r1.split === 'test' ? 'train' : 'test' });
  expect(now.find((r) => r.id === r2.id)).toMatchObject({ label: 'c', split: r2.split });
  expect(now.find((r) => r.id === r3.id)).toBeUndefined();
  const versions = await m.versions('edits');
  expect(versions.map((v) => [v.version, v.kind, v.rows])).toEqual([
    [0, 'create', 0],
    [1, 'import', 12],
    [2, 'relabel', 2],
    [3, 'move', 1],
    [4, 'remove', 1],
  ]);
  expect(versions[4].by).toMatch(/@/);

  // A row already at the target is left as it is: no version for nothing.
  const nothing = await m.relabel('edits', [r2.id], 'c');
  expect(nothing.changed).toBe(0);
  expect(nothing.version).toBeUndefined();
  expect((await m.versions('edits')).length).toBe(5);
});

test('an unknown id is an error naming it, and nothing changes; so is an empty selection', async () => {
  const { m, rows } = await table('unknown');
  const before = await state(m, 'unknown');
  await expect(m.relabel('unknown', [rows[0].id, 999_999], 'z')).rejects.toThrow(
    /has no row 999999; nothing was changed/,
  );
  await expect(m.removeRows('unknown', { ids: [999_998, rows[1].id] })).rejects.toThrow(/no row 999998/);
  await expect(m.removeRows('unknown', { label: 'nope' })).rejects.toThrow(/no row of "unknown" matches/);
  expect(await state(m, 'unknown')).toEqual(before);
  expect((await m.versions('unknown')).map((v) => v.kind)).toEqual(['create', 'import']);

  const cli = mldb(['relabel', 'unknown', String(rows[0].id), '424242', '--to', 'z'], { MLDB_URL: db.url });
  expect(cli.code).toBe(4);
  expect(cli.stderr.trim().split('\n')).toHaveLength(1);
  expect(cli.stderr).toMatch(/no row 424242/);
  const bad = mldb(['move-split', 'unknown', 'x1', '--to', 'test'], { MLDB_URL: db.url });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/invalid row id "x1"/);
  expect(await state(m, 'unknown')).toEqual(before);
});

test('a failure halfway (the history write refused) leaves the table and its versions unchanged', async () => {
  const { m, rows, conn } = await table('atomic');
  const before = await state(m, 'atomic');
  // A history row already where the edit's would go: its INSERT fails after the version was taken.
  const [{ v }] = await conn.query<{ v: number }>("SELECT version AS v FROM mldb_datasets WHERE name = 'atomic'");
  await conn.run(
    'INSERT INTO mldb_row_history (dataset, id, valid_from, valid_to, label, split) ' +
      "VALUES ('atomic', ?, 0, ?, 'x', 'train')",
    [rows[3].id, Number(v) + 1],
  );
  await expect(m.removeRows('atomic', { ids: [rows[0].id, rows[1].id, rows[2].id, rows[3].id] })).rejects.toThrow();
  expect(await state(m, 'atomic')).toEqual(before);
  expect((await m.versions('atomic')).map((x) => x.kind)).toEqual(['create', 'import']);
  await conn.run("DELETE FROM mldb_row_history WHERE dataset = 'atomic'");
});

test('rm-rows by --source glob and by --label; --dry-run changes nothing; --json', async () => {
  const { m, rows } = await table('bysource', { keep: 4, drop: 4, other: 3 });
  const env = { MLDB_URL: db.url };
  const dry = mldb(['rm-rows', 'bysource', '--source', '*drop*', '--dry-run', '--json'], env);
  expect(dry.code).toBe(0);
  const plan = JSON.parse(dry.stdout);
  expect(plan).toMatchObject({ dryRun: true, changed: 4, kind: 'remove' });
  expect(plan.rows.map((r: { label: string }) => r.label)).toEqual(['drop', 'drop', 'drop', 'drop']);
  expect(await m.rows('bysource', { limit: 1000 })).toHaveLength(rows.length);

  const done = mldb(['rm-rows', 'bysource', '--source', '*drop*'], env);
  expect(done.code).toBe(0);
  expect(done.stdout).toMatch(/removed 4 row\(s\) of "bysource": version 2/);
  const byLabel = mldb(['rm-rows', 'bysource', '--label', 'other', '--json'], env);
  expect(JSON.parse(byLabel.stdout)).toMatchObject({ changed: 3, version: 3 });
  expect((await m.rows('bysource', { limit: 1000 })).map((r) => r.label)).toEqual(['keep', 'keep', 'keep', 'keep']);

  const both = mldb(['rm-rows', 'bysource', '1', '--label', 'keep'], env);
  expect(both.code).toBe(2);
});

test('relabel to a new label creates it; move-split checks the split; tag names a version', async () => {
  const { m, rows } = await table('tagged');
  const env = { MLDB_URL: db.url };
  const r = mldb(['relabel', 'tagged', String(rows[0].id), String(rows[1].id), '--to', 'brand new'], env);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/relabelled 2 row\(s\) of "tagged" to "brand new": version 2/);
  expect((await m.describe('tagged')).labels.map((l) => l.label)).toContain('brand new');
  expect(mldb(['move-split', 'tagged', String(rows[0].id), '--to', 'holdout'], env).code).toBe(2);

  expect(mldb(['tag', 'tagged', 'clean'], env).stdout).toMatch(/tagged@clean is version 2/);
  expect(mldb(['tag', 'tagged', 'first', '1'], env).code).toBe(0);
  const taken = mldb(['tag', 'tagged', 'clean', '1'], env);
  expect(taken.code).toBe(2);
  expect(taken.stderr).toMatch(/already names version 2/);
  expect(mldb(['tag', 'tagged', 'x', '77'], env).code).toBe(4);
  const listed = JSON.parse(mldb(['versions', 'tagged', '--json'], env).stdout);
  expect(listed.versions.map((v: { tag: string | null }) => v.tag)).toEqual([null, 'first', 'clean']);
});

test('edits while an import runs: every change gets its own version, nothing is lost or doubled', async () => {
  const { m, rows } = await table('busy', { a: 20, b: 20 });
  const more = makeLabeledFolder({ c: 600, d: 600 }, 8, undefined, 5000);
  const importing = m.insertFolder(more, { table: 'busy' });
  const edits = [];
  for (let i = 0; i < 10; i++) {
    edits.push(await m.relabel('busy', [rows[i].id, rows[20 + i].id], `e${i}`));
    if (i % 3 === 0) await m.removeRows('busy', { ids: [rows[30 + i].id] });
  }
  const imported = await importing;
  expect(imported.imported).toBe(1200);

  const versions = await m.versions('busy');
  const numbers = versions.map((v) => v.version);
  expect(new Set(numbers).size).toBe(numbers.length);
  expect(numbers).toEqual([...numbers].sort((x, y) => x - y));
  const sum = (kind: string) => versions.filter((v) => v.kind === kind).reduce((n, v) => n + v.rows, 0);
  expect(sum('import')).toBe(40 + 1200);
  expect(sum('relabel')).toBe(20);
  expect(sum('remove')).toBe(4);
  const now = await m.rows('busy', { limit: 5000 });
  expect(now).toHaveLength(40 + 1200 - 4);
  for (let i = 0; i < 10; i++) expect(now.find((r) => r.id === rows[i].id)?.label).toBe(`e${i}`);
  // The latest version reads as the current rows; the first import's version as it was.
  expect(await m.rows(`busy@${numbers.at(-1)}`, { limit: 5000 })).toEqual(now);
  expect(await m.rows(`busy@${numbers[1]}`, { limit: 5000 })).toEqual(rows);
});

test('predictions promote makes a version of its own kind', async () => {
  const { m } = await table('promoted');
  const png = rgbPng(8, 8, 4242);
  await insertPredictions(await m.connection(), [
    loggedPrediction({
      input: png,
      inputBytes: png.length,
      inputSha256: crypto.createHash('sha256').update(png).digest(),
      trueLabel: 'b',
    }),
  ]);
  const promoted = await m.promotePredictions({ table: 'promoted' });
  expect(promoted.imported).toBe(1);
  expect((await m.versions('promoted')).map((v) => [v.kind, v.rows])).toEqual([
    ['create', 0],
    ['import', 12],
    ['promote', 1],
  ]);
});

test('on a terminal, an edit of more than a handful of rows asks first: no changes nothing, yes edits', async () => {
  const { m, rows } = await table('asked');
  const before = await state(m, 'asked');
  const ids = rows.slice(0, 6).map((r) => String(r.id));
  const env = { MLDB_URL: db.url };
  const question = /Relabel 6 rows\? \[y\/N\]/;

  const no = await mldbOnTerminal(['relabel', 'asked', ...ids, '--to', 'q'], env, question, 'n');
  expect(no.output).toMatch(question);
  expect(no.code).toBe(2);
  expect(no.output).toMatch(/nothing changed in "asked": the edit was not confirmed/);
  expect(await state(m, 'asked')).toEqual(before);
  expect((await m.versions('asked')).map((v) => v.kind)).toEqual(['create', 'import']);

  const yes = await mldbOnTerminal(['relabel', 'asked', ...ids, '--to', 'q'], env, question, 'y');
  expect(yes.code).toBe(0);
  expect(yes.output).toMatch(/relabelled 6 row\(s\) of "asked" to "q": version 2/);
  const after = await m.rows('asked', { limit: 1000 });
  expect(after.filter((r) => r.label === 'q').map((r) => String(r.id))).toEqual(ids);

  // A handful (5) is not asked about, on a terminal too; --yes skips the question.
  const few = await mldbOnTerminal(['move-split', 'asked', ...ids.slice(0, 5), '--to', 'test'], env, /\[y\/N\]/, 'n');
  expect(few.code).toBe(0);
  expect(few.output).not.toMatch(/\[y\/N\]/);
  const skipped = await mldbOnTerminal(['rm-rows', 'asked', ...ids, '--yes'], env, /\[y\/N\]/, 'n');
  expect(skipped.code).toBe(0);
  expect(skipped.output).toMatch(/removed 6 row\(s\)/);
});
