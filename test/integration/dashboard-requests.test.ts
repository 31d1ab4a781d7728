import type { FastifyInstance } from 'fastify';
import { startDashboard } from '../../src/dashboard/server';
import { insertPredictions } from '../../src/db/predictions';
import { createRun } from '../../src/db/run-writes';
import { MAX_NAME_LENGTH } from '../../src/db/schema';
import { freshDatabase } from '../helpers/db';
import { loggedPrediction, runStart } from '../helpers/records';
import { evenLabels, makeLabeledFolder } from '../helpers/fixtures';
import { request, type Answer } from '../helpers/http';

/**
 * Every bad request to the dashboard is a 4xx in its JSON shape, and a page of the prediction log
 * never skips a row: a real server behind a real dashboard, requests as a client sends them.
 */

const db = freshDatabase();
const servers: FastifyInstance[] = [];
let port: number;

async function dashboardOver(m: ReturnType<typeof db.mldb>): Promise<number> {
  await m.connection();
  const { app } = await startDashboard({ host: '127.0.0.1', port: 0, connect: () => m.connection() });
  servers.push(app);
  return (app.server.address() as { port: number }).port;
}

const get = (path: string, at = port): Promise<Answer> => request(at, path, {});

beforeAll(async () => {
  const m = db.mldb('digits');
  await m.insertFolder(makeLabeledFolder(evenLabels(2, 3), 8), { create: true });
  await m.createTable('empty_table');
  port = await dashboardOver(m);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await db.cleanup();
});

test('a repeated query parameter is a 400 naming it, on every route that reads one', async () => {
  for (const [path, name] of [
    ['/api/predictions?label=3&label=4', 'label'],
    ['/api/predictions?limit=1&limit=2', 'limit'],
    ['/api/tables/digits/images?label=l0&label=l1', 'label'],
    ['/api/tables/digits/findings?kind=conflict&kind=duplicate', 'kind'],
    ['/api/runs?dataset=a&dataset=b', 'dataset'],
    ['/api/compare?ids=1,2&ids=3', 'ids'],
    ['/api/experiments?offset=0&offset=1', 'offset'],
  ]) {
    const r = await get(path);
    expect([path, r.status, r.body.error?.code]).toEqual([path, 400, 'bad_query']);
    expect(r.body.error?.message).toMatch(new RegExp(`^${name} is given 2 times`));
  }
});

test('a thumbnail of a table without images is a 404, of a damaged row a 422', async () => {
  const empty = await get('/api/tables/empty_table/images/1.png');
  expect([empty.status, empty.body.error?.code]).toEqual([404, 'no_images']);

  const conn = await db.mldb('digits').connection();
  const [first, second] = await conn.query<{ id: number }>('SELECT id FROM digits ORDER BY id LIMIT 2');
  expect((await request(port, `/api/tables/digits/images/${first.id}.png`, {})).status).toBe(200);
  await conn.run('UPDATE digits SET pixels = ? WHERE id = ?', [Buffer.alloc(5), first.id]);
  const short = await get(`/api/tables/digits/images/${first.id}.png`);
  expect([short.status, short.body.error?.code]).toEqual([422, 'damaged_row']);
  expect(short.body.error?.message).toMatch(/holds 5 bytes of pixels, not the 64/);

  await conn.run('ALTER TABLE digits MODIFY pixels MEDIUMBLOB NULL');
  await conn.run('UPDATE digits SET pixels = NULL WHERE id = ?', [second.id]);
  const none = await get(`/api/tables/digits/images/${second.id}.png`);
  expect([none.status, none.body.error?.code]).toEqual([422, 'damaged_row']);
  expect(none.body.error?.message).toMatch(/holds no pixels/);
});

test('an experiment with the longest name opens; a longer path segment is a 414 in the JSON shape', async () => {
  const conn = await db.mldb().connection();
  // The longest name, in characters that percent-encode to the most bytes (4 each).
  const name = '😀'.repeat(MAX_NAME_LENGTH);
  await createRun(conn, runStart({ name: 'long', experiment: name, host: 'here', pid: 1 }));
  const opened = await get(`/api/experiments/${encodeURIComponent(name)}`);
  expect([opened.status, opened.body.name]).toEqual([200, name]);

  const tooLong = await get(`/api/experiments/${encodeURIComponent(name + '😀')}`);
  expect([tooLong.status, tooLong.body.error?.code]).toEqual([414, 'uri_too_long']);
});

test('20 predictions in one millisecond, 3 to a page: every one is shown once', async () => {
  const conn = await db.mldb().connection();
  const at = new Date('2026-11-21T10:00:00.123Z');
  await insertPredictions(
    conn,
    Array.from({ length: 20 }, (_, i) =>
      loggedPrediction({ createdAt: at, model: 'paging-model', fileName: `${i}.png` }),
    ),
  );
  const seen: string[] = [];
  let cursor: string | null = '';
  for (let pages = 0; cursor !== null && pages < 20; pages++) {
    const r = await get(
      `/api/predictions?model=paging-model&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    expect(r.status).toBe(200);
    seen.push(...(r.body.predictions as Array<{ fileName: string }>).map((p) => p.fileName));
    cursor = r.body.next as string | null;
  }
  expect(cursor).toBeNull();
  expect(seen.length).toBe(20);
  expect(new Set(seen).size).toBe(20);

  const bad = await get('/api/predictions?cursor=yesterday');
  expect([bad.status, bad.body.error?.code]).toEqual([400, 'bad_query']);
});

test('a statement the server refuses is a 500 `internal` that quotes no SQL', async () => {
  const broken = freshDatabase();
  try {
    const m = broken.mldb();
    const at = await dashboardOver(m);
    const conn = await m.connection();
    await conn.run('ALTER TABLE mldb_predictions DROP COLUMN label');
    const r = await get('/api/predictions', at);
    expect([r.status, r.body.error?.code]).toEqual([500, 'internal']);
    expect(r.body.error?.message).not.toMatch(/label|column|SELECT|SQL/i);
  } finally {
    await broken.cleanup();
  }
});
