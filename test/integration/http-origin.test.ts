import { spawnSync } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { startDashboard } from '../../src/dashboard/server';
import { storeModel } from '../../src/db/models';
import { insertPredictions } from '../../src/db/predictions';
import { createRun } from '../../src/db/run-writes';
import { freshDatabase } from '../helpers/db';
import { loggedPrediction, runStart } from '../helpers/records';
import { request } from '../helpers/http';

/**
 * The dashboard answers its own users only: without a token, requests addressed to names it does
 * not listen on are refused (DNS rebinding), writes from another site's pages are refused whatever
 * the token, a GET writes nothing, and a correction follows the service's rule.
 */

const db = freshDatabase();
const servers: FastifyInstance[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await db.cleanup();
});

async function dashboard(token?: string): Promise<number> {
  const m = db.mldb();
  await m.connection();
  const { app } = await startDashboard({ host: '127.0.0.1', port: 0, token, connect: () => m.connection() });
  servers.push(app);
  return (app.server.address() as { port: number }).port;
}

test('without a token, only requests addressed to a name it listens on are answered', async () => {
  const port = await dashboard();
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST.:${port}`]) {
    expect([host, (await request(port, '/api/overview', { Host: host })).status]).toEqual([host, 200]);
  }
  for (const host of [`rebound.example:${port}`, `127.0.0.1.nip.example:${port}`, 'evil.example']) {
    const r = await request(port, '/api/overview', { Host: host });
    expect([host, r.status, r.body.error?.code]).toEqual([host, 403, 'forbidden_host']);
  }
  // The page itself too: a rebound page must not even load the app that would read the API.
  expect((await request(port, '/', { Host: 'rebound.example' })).status).toBe(403);
});

test('a GET writes nothing: a run orphaned by a killed process is shown interrupted, and stays as stored', async () => {
  const port = await dashboard();
  const conn = await db.mldb().connection();
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const id = await createRun(conn, runStart({ name: 'killed', pid: dead }));
  const host = { Host: `127.0.0.1:${port}` };
  const list = await request(port, '/api/runs', host);
  expect((list.body.runs as Array<{ id: number; status: string }>).find((r) => r.id === id)?.status).toBe(
    'interrupted',
  );
  const one = await request(port, `/api/runs/${id}`, host);
  expect(one.body.run).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/ended without/) });
  const [stored] = await conn.query<{ status: string }>('SELECT status FROM mldb_runs WHERE id = ?', [id]);
  expect(stored.status).toBe('running');
});

test("with a token: any Host, no write from another site's page, a correction among the model's labels", async () => {
  const token = 'origin-test-token';
  const port = await dashboard(token);
  const conn = await db.mldb().connection();
  const model = await storeModel(
    conn,
    { name: 'digits-model', architecture: 'lenet5', labels: ['3', '8'], inputShape: [8, 8, 1] },
    { modelJson: '{}', weights: Buffer.alloc(4), metadata: '{}' },
  );
  const logged = (modelId: number | null) => loggedPrediction({ model: 'digits-model@1', modelId });
  const ofStored = logged(model.id);
  const ofFolder = logged(null);
  await insertPredictions(conn, [ofStored, ofFolder]);

  const auth = { Authorization: `Bearer ${token}` };
  const self = `127.0.0.1:${port}`;
  expect((await request(port, '/api/overview', { ...auth, Host: 'mldb.internal.example' })).status).toBe(200);
  const correct = (id: string, label: string, headers: Record<string, string> = {}) =>
    request(
      port,
      `/api/predictions/${id}/label`,
      { ...auth, Host: self, ...headers },
      { method: 'POST', body: { label } },
    );

  const foreign = await correct(ofStored.id, '8', { Origin: 'https://evil.example' });
  expect([foreign.status, foreign.body.error?.code]).toEqual([403, 'cross_origin']);
  const crossSite = await correct(ofStored.id, '8', { 'Sec-Fetch-Site': 'cross-site' });
  expect(crossSite.status).toBe(403);
  const unknown = await correct(ofStored.id, 'seven');
  expect([unknown.status, unknown.body.error?.code]).toEqual([400, 'bad_label']);
  expect(unknown.body.error?.message).toMatch(/one of the model's labels: 3, 8/);
  const unstored = await correct(ofFolder.id, '8');
  expect([unstored.status, unstored.body.error?.code]).toEqual([409, 'model_not_stored']);

  const [before] = await conn.query<{ true_label: string | null }>(
    'SELECT true_label FROM mldb_predictions WHERE id = ?',
    [ofStored.id],
  );
  expect(before.true_label).toBeNull();
  const ok = await correct(ofStored.id, '8', { Origin: `http://${self}` });
  expect([ok.status, ok.body]).toEqual([200, { id: ofStored.id, label: '8' }]);
});
