import type { FastifyInstance } from 'fastify';
import { startDashboard } from '../../src/dashboard/server';
import { freshDatabase } from '../helpers/db';
import { makeLabeledFolder, sampleDigitsFolder, tempDir } from '../helpers/fixtures';
import { request, type Answer } from '../helpers/http';

/**
 * The dashboard's versions, diffs, suspects and row edits against a real server: an edit is the
 * library's (one version, all or nothing), only a token holder makes one, and every refusal is a
 * 4xx in the one JSON shape with the table exactly as it was.
 */
const db = freshDatabase();
const TOKEN = 'curation-token-0123456789';
const auth = { Authorization: `Bearer ${TOKEN}` };
const servers: FastifyInstance[] = [];
let port: number; // with a token, and suspects
let readOnlyPort: number;
let model: string;

/** A dashboard over the test database; `suspects: 'none'` leaves the model runner out, a function runs first. */
async function dashboard(token?: string, o: { suspects?: 'none' | (() => Promise<void>) } = {}): Promise<number> {
  const m = db.mldb('digits');
  await m.connection();
  const before = o.suspects;
  const { app } = await startDashboard({
    host: '127.0.0.1',
    port: 0,
    token,
    connect: () => m.connection(),
    suspects:
      before === 'none'
        ? undefined
        : async (table, ref, limit) => {
            await before?.();
            return m.suspects(ref, { table, limit, backend: 'wasm' });
          },
  });
  servers.push(app);
  return (app.server.address() as { port: number }).port;
}

const get = (path: string, at = port) => request(at, path, auth);
const post = (path: string, body: unknown, headers: Record<string, string> = auth, at = port) =>
  request(at, path, headers, { method: 'POST', body });

/** What an edit could change: every row's label and split, and the versions. */
async function snapshot(table = 'digits') {
  const m = db.mldb();
  return {
    rows: (await m.rows(table, { limit: 10_000 })).map((r) => [r.id, r.label, r.split]),
    versions: (await m.versions(table)).map((v) => [v.version, v.kind, v.rows]),
  };
}

const refused = (r: Answer) => [r.status, r.body.error?.code];

beforeAll(async () => {
  const m = db.mldb('digits');
  await m.insertFolder(sampleDigitsFolder(12), { create: true });
  await db.mldb('other').insertFolder(makeLabeledFolder({ a: 3, b: 3 }, 20), { create: true });
  const trained = await m.train({ model: 'lenet5', epochs: 1, batchSize: 16, backend: 'wasm', save: tempDir() });
  model = `${trained.storedModel!.name}@${trained.storedModel!.version}`;
  port = await dashboard(TOKEN);
  readOnlyPort = await dashboard();
}, 300_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await db.cleanup();
});

test('a relabel and a removal are versions: listed newest first, paged, diffed per label with their rows', async () => {
  const [r1, r2, r3] = (await db.mldb().rows('digits', { limit: 3 })).map((r) => ({ id: r.id, label: r.label }));
  const to = r1.label === '9' ? '8' : '9';
  const relabel = await post('/api/tables/digits/relabel', { ids: [r1.id, r2.id], label: ` ${to}` });
  expect(relabel.status).toBe(200);
  const changed = (r2.label === to ? 1 : 2) as number;
  expect(relabel.body).toMatchObject({ table: 'digits', kind: 'relabel', to, changed });
  const removed = await post('/api/tables/digits/remove', { ids: [r3.id] });
  expect(removed.body).toMatchObject({ kind: 'remove', changed: 1, version: (relabel.body.version as number) + 1 });

  const v = await get('/api/tables/digits/versions?limit=2');
  expect(v.status).toBe(200);
  expect(v.body.current).toBe(removed.body.version);
  const versions = v.body.versions as Array<{ version: number; kind: string; rows: number; by: string; at: string }>;
  expect(versions.map((x) => [x.version, x.kind, x.rows])).toEqual([
    [removed.body.version, 'remove', 1],
    [relabel.body.version, 'relabel', changed],
  ]);
  expect(versions[0].by).toMatch(/@/);
  expect(new Date(versions[0].at).getTime()).not.toBeNaN();
  expect(v.body.next).toBe(relabel.body.version);
  const older = await get(`/api/tables/digits/versions?limit=100&before=${v.body.next}`);
  expect((older.body.versions as Array<{ version: number }>).map((x) => x.version)).toEqual(
    (await db.mldb().versions('digits'))
      .map((x) => x.version)
      .filter((n) => n < (relabel.body.version as number))
      .reverse(),
  );
  expect(older.body.next).toBeNull();

  const before = (relabel.body.version as number) - 1;
  const d = await get(`/api/tables/digits/diff?from=${before}`);
  expect(d.status).toBe(200);
  expect(d.body).toMatchObject({ table: 'digits', from: before, to: null });
  expect(d.body.totals).toEqual({ added: 0, removed: 1, relabelled: changed, moved: 0 });
  expect((d.body.counts as { removed: Record<string, number> }).removed).toEqual({ [r3.label]: 1 });
  const rows = d.body.rows as { relabelled: { id: number; from: string; to: string }[]; removed: { id: number }[] };
  expect(rows.relabelled).toContainEqual({ id: r1.id, from: r1.label, to });
  expect(rows.removed.map((r) => r.id)).toEqual([r3.id]);
  // The same diff as the library's, and a tag names a side as a number does.
  await db.mldb().tag('digits', 'before-edits', before);
  const tagged = await get('/api/tables/digits/diff?from=before-edits&to=' + String(removed.body.version));
  expect(tagged.body.totals).toEqual(d.body.totals);
  const lib = await db.mldb().diff(`digits@${before}`, 'digits');
  expect(rows.relabelled).toEqual(lib.relabelled);

  // The images of a version: the removed row is among them, with its label then, and its pixels.
  const then = await get(`/api/tables/digits/images?at=before-edits&limit=500`);
  const images = then.body.images as Array<{ id: number; label: string }>;
  expect(images.map((i) => [i.id, i.label]).slice(0, 3)).toEqual([r1, r2, r3].map((r) => [r.id, r.label]));
  expect(images.map((i) => i.id)).toEqual((await db.mldb().rows(`digits@${before}`, { limit: 500 })).map((r) => r.id));
  const gone = await get(`/api/tables/digits/images/${r3.id}.png`);
  expect(refused(gone)).toEqual([404, 'not_found']);
  const png = await fetch(`http://127.0.0.1:${port}/api/tables/digits/images/${r3.id}.png?at=${before}`, {
    headers: auth,
  });
  expect([png.status, png.headers.get('content-type')]).toEqual([200, 'image/png']);
  expect((await png.arrayBuffer()).byteLength).toBeGreaterThan(0);
  expect(refused(await get(`/api/tables/digits/images?at=99999`))).toEqual([404, 'not_found']);
  expect(refused(await get(`/api/tables/digits/images/1.png?at=nope`))).toEqual([404, 'not_found']);
});

test('without the token, or on a dashboard without one, an edit is refused and nothing changes', async () => {
  const [row] = await db.mldb().rows('digits', { limit: 1 });
  const body = { ids: [row.id], label: row.label === '1' ? '2' : '1' };
  const was = await snapshot();
  const none = await post('/api/tables/digits/relabel', body, {});
  expect(refused(none)).toEqual([401, 'unauthorized']);
  const wrong = await post('/api/tables/digits/remove', { ids: [row.id] }, { Authorization: 'Bearer nope' });
  expect(refused(wrong)).toEqual([401, 'unauthorized']);
  const readOnly = await post('/api/tables/digits/relabel', body, {}, readOnlyPort);
  expect(refused(readOnly)).toEqual([403, 'read_only']);
  expect(refused(await post('/api/tables/digits/remove', { ids: [row.id] }, {}, readOnlyPort))).toEqual([
    403,
    'read_only',
  ]);
  // Another site's page may not write even with the token.
  const crossSite = await post(
    '/api/tables/digits/remove',
    { ids: [row.id] },
    { ...auth, Origin: 'https://evil.test' },
  );
  expect(refused(crossSite)).toEqual([403, 'cross_origin']);
  expect(await snapshot()).toEqual(was);
  // Reading is open on the read-only dashboard, as every other page is.
  expect((await get('/api/tables/digits/versions', readOnlyPort)).status).toBe(200);
});

test('hostile edits are a 4xx naming the problem, all or nothing: the table is exactly as it was', async () => {
  const rows = await db.mldb().rows('digits', { limit: 2 });
  const digitsLast = (await db.mldb().rows('digits', { limit: 10_000 })).at(-1)!.id;
  const otherIds = (await db.mldb().rows('other', { limit: 1000 })).map((r) => r.id);
  expect(otherIds).not.toContain(digitsLast);
  const was = await snapshot();
  const otherWas = await snapshot('other');
  const cases: Array<[string, unknown, number, string, RegExp?]> = [
    // One id the table lacks among good ones: the good ones are not changed either.
    ['relabel', { ids: [rows[0].id, 999_999], label: '7' }, 404, 'not_found', /no row 999999; nothing was changed/],
    ['remove', { ids: [rows[1].id, 888_888] }, 404, 'not_found', /888888/],
    ['relabel', { ids: [rows[0].id], label: '' }, 400, 'bad_label'],
    ['relabel', { ids: [rows[0].id], label: '   ' }, 400, 'bad_label'],
    ['relabel', { ids: [rows[0].id], label: 'a\u0000b' }, 400, 'bad_label'],
    ['relabel', { ids: [rows[0].id], label: 'x'.repeat(192) }, 400, 'bad_label'],
    ['relabel', { ids: [rows[0].id], label: 7 }, 400, 'bad_label'],
    ['relabel', { ids: [rows[0].id] }, 400, 'bad_label'],
    ['relabel', { ids: [], label: '7' }, 400, 'bad_id'],
    ['remove', { ids: ['1'] }, 400, 'bad_id'],
    ['remove', { ids: [-1] }, 400, 'bad_id'],
    ['remove', { ids: [1.5] }, 400, 'bad_id'],
    ['remove', { ids: rows[0].id }, 400, 'bad_id'],
    ['remove', { ids: Array.from({ length: 1001 }, (_, i) => i + 1) }, 400, 'bad_id'],
    ['remove', null, 400, 'bad_id'],
  ];
  for (const [kind, body, status, code, message] of cases) {
    const r = await post(`/api/tables/digits/${kind}`, body);
    expect([kind, JSON.stringify(body)?.slice(0, 60), ...refused(r)]).toEqual([
      kind,
      JSON.stringify(body)?.slice(0, 60),
      status,
      code,
    ]);
    if (message) expect(r.body.error?.message).toMatch(message);
  }
  // The wrong table: a row of "digits" named under "other", an unknown table, a version of one.
  expect(refused(await post('/api/tables/other/remove', { ids: [digitsLast] }))).toEqual([404, 'not_found']);
  expect(refused(await post('/api/tables/other/relabel', { ids: [digitsLast], label: 'a' }))).toEqual([
    404,
    'not_found',
  ]);
  expect(refused(await post('/api/tables/nosuch/remove', { ids: [rows[0].id] }))).toEqual([404, 'not_found']);
  const versioned = await post('/api/tables/digits@1/remove', { ids: [rows[0].id] });
  expect(refused(versioned)).toEqual([400, 'bad_query']);
  expect(versioned.body.error?.message).toMatch(/current rows/);
  // A body that is not JSON at all.
  const garbage = await request(
    port,
    '/api/tables/digits/remove',
    { ...auth, 'Content-Type': 'application/json' },
    {
      method: 'POST',
    },
  );
  expect(garbage.status).toBeGreaterThanOrEqual(400);
  expect(garbage.status).toBeLessThan(500);
  expect(await snapshot()).toEqual(was);
  expect(await snapshot('other')).toEqual(otherWas);
});

test('versions and diffs refuse what they cannot read with a 4xx', async () => {
  expect(refused(await get('/api/tables/nosuch/versions'))).toEqual([404, 'not_found']);
  expect(refused(await get('/api/tables/nosuch/diff?from=1'))).toEqual([404, 'not_found']);
  expect(refused(await get('/api/tables/digits/diff?from=9999'))).toEqual([404, 'not_found']);
  expect(refused(await get('/api/tables/digits/diff?from=no-such-tag'))).toEqual([404, 'not_found']);
  expect(refused(await get('/api/tables/digits/versions?limit=0'))).toEqual([400, 'bad_query']);
  expect(refused(await get('/api/tables/digits/versions?before=x'))).toEqual([400, 'bad_query']);
  expect(refused(await get('/api/tables/digits/diff?from=1&limit=501'))).toEqual([400, 'bad_query']);
  const few = await get('/api/tables/digits/diff?from=0&limit=3');
  expect((few.body.rows as { added: unknown[] }).added).toHaveLength(3);
  expect((few.body.totals as { added: number }).added).toBeGreaterThan(3);
});

test('suspects: a stored model, at most `limit` rows; a relabel from the list is an ordinary edit', async () => {
  expect(refused(await get('/api/tables/digits/suspects'))).toEqual([400, 'bad_query']);
  expect(refused(await get('/api/tables/digits/suspects?model=nosuch'))).toEqual([404, 'not_found']);
  expect(refused(await get('/api/tables/digits/suspects?model=run:99999'))).toEqual([404, 'not_found']);
  // A path is never opened: only the database's models are.
  expect(refused(await get('/api/tables/digits/suspects?model=' + encodeURIComponent('/tmp')))).toEqual([
    404,
    'not_found',
  ]);
  expect(refused(await get(`/api/tables/nosuch/suspects?model=${model}`))).toEqual([404, 'not_found']);
  expect(refused(await get(`/api/tables/digits/suspects?model=${model}&limit=501`))).toEqual([400, 'bad_query']);
  expect(refused(await get(`/api/tables/other/suspects?model=${model}`))).toEqual([422, 'invalid_data']);

  const r = await get(`/api/tables/digits/suspects?model=${encodeURIComponent(model)}&limit=3`);
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ table: 'digits', model, count: (await snapshot()).rows.length });
  const suspects = r.body.suspects as Array<{ id: number; label: string; suggested: string; margin: number }>;
  expect(suspects.length).toBe(Math.min(3, r.body.found as number));
  expect(suspects.length).toBeGreaterThan(0); // one epoch of LeNet on 120 digits doubts some of them
  for (const s of suspects) expect(s.suggested).not.toBe(s.label);

  const [s] = suspects;
  const fixed = await post('/api/tables/digits/relabel', { ids: [s.id], label: s.suggested });
  expect(fixed.body).toMatchObject({ kind: 'relabel', to: s.suggested, changed: 1 });
  const latest = (await db.mldb().versions('digits')).at(-1)!;
  expect([latest.version, latest.kind, latest.rows]).toEqual([fixed.body.version, 'relabel', 1]);
  expect((await db.mldb().rows('digits', { limit: 10_000 })).find((x) => x.id === s.id)?.label).toBe(s.suggested);
  // The row as it was is still read at the version before.
  const then = await db.mldb().rows(`digits@${latest.version - 1}`, { limit: 10_000 });
  expect(then.find((x) => x.id === s.id)?.label).toBe(s.label);
}, 300_000);

test('suspects run one at a time, and not where the server was given no model runner', async () => {
  const path = `/api/tables/digits/suspects?model=${encodeURIComponent(model)}&limit=2`;
  let entered = () => {};
  const inside = new Promise<void>((resolve) => (entered = resolve));
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const held = await dashboard(TOKEN, {
    suspects: () => {
      entered();
      return gate;
    },
  });
  const first = get(path, held);
  await inside; // the first request is running (held before its model runs) when the second arrives
  expect(refused(await get(path, held))).toEqual([429, 'busy']);
  release();
  expect((await first).status).toBe(200);
  expect((await get(path, held)).status).toBe(200); // free again
  const modelless = await dashboard(TOKEN, { suspects: 'none' });
  expect(refused(await get(path, modelless))).toEqual([404, 'not_available']);
}, 300_000);
