import fs from 'node:fs';
import path from 'node:path';
import { findServerBinary, startServer, stopServer, type RunningServer } from '../../src/local-servers/local-server';
import { mldb, mldbRunning } from '../helpers/cli';
import { queryServer } from '../helpers/db';
import { digitsFolder, tempDir } from '../helpers/fixtures';
import { startServe, waitFor, type ServeProcess } from '../helpers/serve';

/**
 * The database goes away while the service runs: predictions go on, the log queues, and the
 * rows arrive when it returns. This file starts its own server so that it can stop it.
 */
const dataDir = tempDir('mldb-outage-db-');
let server: RunningServer;
let env: Record<string, string>;
let sample: string;
const work = tempDir('mldb-outage-');
const running: ServeProcess[] = [];

async function logCount(): Promise<number> {
  const [{ n }] = await queryServer<{ n: number }>(server.port, 'SELECT COUNT(*) AS n FROM mldb_predictions', 'outage');
  return Number(n);
}

async function predictOnce(url: string): Promise<number> {
  const f = new FormData();
  f.append('file', new Blob([fs.readFileSync(sample)]), 'digit.png');
  const res = await fetch(`${url}/v1/predict`, { method: 'POST', body: f });
  return res.status;
}

async function restartServer(): Promise<void> {
  server = await startServer({ binary: findServerBinary()!, dataDir, port: server.port });
}

beforeAll(async () => {
  server = await startServer({ binary: findServerBinary()!, dataDir });
  env = { MLDB_URL: `mysql://root@127.0.0.1:${server.port}/outage`, MLDB_TABLE: 'digits' };
  const dir = digitsFolder();
  sample = path.join(dir, fs.readdirSync(dir)[0], fs.readdirSync(path.join(dir, fs.readdirSync(dir)[0]))[0]);
  expect(mldb(['import', dir, '--create'], env).code).toBe(0);
  const model = path.join(work, 'model');
  expect(mldb(['train', '--model', 'lenet5', '--epochs', '1', '--save', model, '--no-store'], env).code).toBe(0);
});

afterAll(async () => {
  await Promise.all(running.map((s) => s.stop('SIGKILL')));
  await stopServer(server.pid);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('a stopped database fails no prediction; queued rows arrive when it returns', async () => {
  const s = await startServe(['--model', path.join(work, 'model')], env);
  running.push(s);
  for (let i = 0; i < 3; i++) expect(await predictOnce(s.url)).toBe(200);
  await waitFor(async () => (await logCount()) === 3, 'the first three rows');

  await stopServer(server.pid);
  for (let i = 0; i < 10; i++) expect(await predictOnce(s.url)).toBe(200);
  const health = await (await fetch(`${s.url}/healthz`)).json();
  expect(health).toMatchObject({ status: 'degraded', database: { reachable: false } });
  expect(health.log.queued).toBe(10);
  await waitFor(async () => /cannot write the prediction log/.test(s.stderr()), 'the write-failure note');

  await restartServer();
  await waitFor(async () => (await logCount()) === 13, 'the ten queued rows', 120_000);
  await waitFor(async () => /prediction log writes resumed/.test(s.stderr()), 'the resumed note');
  expect(await s.stop()).toBe(0);
  expect(await logCount()).toBe(13);
});

test('SIGTERM writes the queued rows before exiting; a full queue drops and says so', async () => {
  const s = await startServe(['--model', path.join(work, 'model'), '--queue', '4'], env);
  running.push(s);
  const before = await logCount();
  await stopServer(server.pid);
  for (let i = 0; i < 6; i++) expect(await predictOnce(s.url)).toBe(200);
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  expect(metrics).toMatch(/mldb_serve_log_rows_dropped_total 2/);
  expect(metrics).toMatch(/mldb_serve_log_queue_depth 4/);
  await waitFor(async () => /queue is full \(4 rows\): 1 row\(s\) dropped/.test(s.stderr()), 'the drop note');

  // The database returns, and the service is stopped at once: the drain writes the four rows.
  await restartServer();
  const code = await s.stop('SIGTERM');
  expect(code).toBe(3); // rows were dropped: the exit code says the log is incomplete
  expect(s.stdout()).toMatch(/log: 4 written, 2 dropped \(queue full\)/);
  expect(await logCount()).toBe(before + 4);
});

test('a frozen database (SIGSTOP): a dashboard request is a 503 `database_unavailable`, then it answers', async () => {
  const ui = mldbRunning(['ui', '--port', '0'], { ...env, MLDB_BACKEND_TIMEOUT: '2' });
  try {
    await waitFor(async () => /listening on http/.test(ui.stderr()), 'the dashboard to listen', 120_000);
    const url = /listening on (http:\/\/\S+?)\/? /.exec(ui.stderr())![1];
    // The bounds under test are mldb's own (10 s to connect, MLDB_BACKEND_TIMEOUT a statement); the
    // abort only keeps a regression from hanging the suite.
    const get = async (route: string) => {
      const res = await fetch(`${url}${route}`, { signal: AbortSignal.timeout(120_000) });
      return {
        route,
        status: res.status,
        error: ((await res.json()) as { error?: { code: string; message: string } }).error,
      };
    };
    const routes = ['/api/overview', '/api/runs', '/api/tables/digits', '/api/predictions'];
    for (const r of routes) expect(await get(r)).toMatchObject({ route: r, status: 200 });
    process.kill(server.pid, 'SIGSTOP');
    let answers: Awaited<ReturnType<typeof get>>[];
    try {
      answers = await Promise.all(routes.map(get));
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
    for (const a of answers) {
      expect(a).toMatchObject({ status: 503, error: { code: 'database_unavailable' } });
      expect(a.error!.message).not.toMatch(/SELECT|FROM/);
    }
    await waitFor(async () => (await get('/api/overview')).status === 200, 'the dashboard to answer again', 120_000);
  } finally {
    ui.child.kill('SIGTERM');
  }
  expect(await ui.exited).toBe(0);
}, 300_000);
