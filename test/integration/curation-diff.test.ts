import { freshDatabase } from '../helpers/db';
import { makeLabeledFolder } from '../helpers/fixtures';
import { mldb } from '../helpers/cli';

/** diff between versions, and purge: what it frees, and that what is kept still reads the same. */
const db = freshDatabase();
afterAll(() => db.cleanup());
const env = () => ({ MLDB_URL: db.url });

test('diff counts added, removed, relabelled and moved rows per label, and lists them with --rows', async () => {
  const m = db.mldb('changes');
  await m.insertFolder(makeLabeledFolder({ a: 10, b: 10 }, 8), { create: true });
  const v1 = (await m.versions('changes')).at(-1)!.version;
  const rows = await m.rows('changes', { limit: 100 });
  const a = rows.filter((r) => r.label === 'a').map((r) => r.id);
  const b = rows.filter((r) => r.label === 'b');
  await m.relabel('changes', a.slice(0, 3), 'z');
  const target = b[0].split === 'test' ? 'train' : 'test';
  await m.moveSplit(
    'changes',
    [b[0].id, b[1].id].filter((_, i) => b[i].split !== target),
    target,
  );
  const movedCount = [b[0], b[1]].filter((r) => r.split !== target).length;
  await m.removeRows('changes', { ids: a.slice(5, 9) });
  await m.insertFolder(makeLabeledFolder({ c: 5 }, 8, undefined, 900), { table: 'changes' });

  const r = mldb(['diff', `changes@${v1}`, 'changes', '--json'], env());
  expect(r.code).toBe(0);
  const d = JSON.parse(r.stdout);
  expect(d).toMatchObject({
    table: 'changes',
    from: v1,
    to: null,
    totals: { added: 5, removed: 4, relabelled: 3, moved: movedCount },
    counts: { added: { c: 5 }, removed: { a: 4 }, relabelled: { 'a → z': 3 } },
  });
  expect(d.rows).toBeUndefined();

  const listed = JSON.parse(mldb(['diff', `changes@${v1}`, `changes@${v1 + 1}`, '--rows', '--json'], env()).stdout);
  expect(listed.totals).toEqual({ added: 0, removed: 0, relabelled: 3, moved: 0 });
  expect(listed.rows.relabelled).toEqual(a.slice(0, 3).map((id) => ({ id, from: 'a', to: 'z' })));

  const text = mldb(['diff', `changes@${v1}`, 'changes', '--rows'], env());
  expect(text.stdout).toMatch(/changes@\d+ → changes \(current\): 5 added, 4 removed, 3 relabelled/);
  expect(text.stdout).toMatch(new RegExp(`~ ${a[0]}  label a → z`));
  // The reverse diff says the opposite; another table's version is refused.
  const back = JSON.parse(mldb(['diff', 'changes', `changes@${v1}`, '--json'], env()).stdout);
  expect(back.totals).toEqual({ added: 4, removed: 5, relabelled: 3, moved: movedCount });
  expect(mldb(['diff', `changes@${v1}`, 'other@1'], env()).code).toBe(4);
});

test('purge --before frees the history only older versions needed; later versions read the same', async () => {
  const m = db.mldb('purged');
  await m.insertFolder(makeLabeledFolder({ a: 6, b: 6 }, 8), { create: true });
  const ids = (await m.rows('purged', { limit: 100 })).map((r) => r.id);
  const v1 = (await m.versions('purged')).at(-1)!.version;
  await m.removeRows('purged', { ids: ids.slice(0, 3) });
  await m.relabel('purged', ids.slice(3, 5), 'c');
  const keep = (await m.versions('purged')).at(-1)!.version;
  const atKeep = await m.rows(`purged@${keep}`, { limit: 100 });
  await m.removeRows('purged', { ids: ids.slice(5, 7) });

  const dry = JSON.parse(mldb(['purge', 'purged', '--before', String(keep), '--dry-run', '--json'], env()).stdout);
  expect(dry).toMatchObject({ before: keep, versions: keep, historyRows: 5, removedRows: 3, dryRun: true });
  expect(dry.bytes).toBeGreaterThan(0);
  const refused = mldb(['purge', 'purged', '--before', String(keep)], env());
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/pass --yes/);
  expect(await m.rows(`purged@${v1}`, { limit: 100 })).toHaveLength(12);

  const done = mldb(['purge', 'purged', '--before', String(keep), '--yes'], env());
  expect(done.code).toBe(0);
  expect(done.stdout).toMatch(
    /purged versions of "purged" before \d+: \d+ version record\(s\), 5 earlier row state\(s\), 3 removed/,
  );
  expect(await m.rows(`purged@${keep}`, { limit: 100 })).toEqual(atKeep);
  await expect(m.rows(`purged@${v1}`)).rejects.toThrow(/has no version/);
  expect((await m.versions('purged'))[0].version).toBe(keep);
});
