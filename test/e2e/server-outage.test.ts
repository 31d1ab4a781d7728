import fs from 'node:fs';
import { findServerBinary, startServer, stopServer, type RunningServer } from '../../src/local-servers/local-server';
import { mldb, mldbAsync } from '../helpers/cli';
import { queryServer } from '../helpers/db';
import { evenLabels, makeLabeledFolder, tempDir } from '../helpers/fixtures';
import { waitFor } from '../helpers/serve';

/**
 * The database goes away during an import or while a model trains. The import stops with one line
 * and a re-run completes it; training (its rows are in memory) goes on, the run's records wait,
 * and they all arrive when the server returns. This file starts its own server, to stop it.
 */
const dataDir = tempDir('mldb-train-outage-db-');
let server: RunningServer;
let env: Record<string, string>;

function query<T>(sql: string): Promise<T[]> {
  return queryServer<T>(server.port, sql, 'outage');
}

beforeAll(async () => {
  server = await startServer({ binary: findServerBinary()!, dataDir });
  env = { MLDB_URL: `mysql://root@127.0.0.1:${server.port}/outage`, MLDB_TABLE: 'digits' };
  const dir = makeLabeledFolder({ a: 40, b: 40, c: 40 }, 12);
  expect(mldb(['import', dir, '--create', '--test-fraction', '0.2'], env).code).toBe(0);
});

afterAll(async () => {
  await stopServer(server.pid);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('a server restart mid-training loses no epoch record; the run completes', async () => {
  const epochs = 400;
  const child = mldbAsync(
    [
      'train',
      '--model',
      'lenet5',
      '--epochs',
      String(epochs),
      '--batch-size',
      '32',
      '--no-store',
      '--json',
      '--verbose',
    ],
    env,
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  // Epoch records are written every 10 epochs: the first write shows the run is under way.
  await waitFor(
    async () => (await query<{ n: number }>('SELECT COUNT(*) AS n FROM mldb_run_epochs'))[0].n > 0,
    'the first epoch records',
    120_000,
  );
  await stopServer(server.pid);
  server = await startServer({ binary: findServerBinary()!, dataDir, port: server.port });
  const code = await exited;
  expect({ code, stderr: stderr.split('\n').filter((l) => /mldb:|Error|at /.test(l)) }).toEqual({
    code: 0,
    stderr: [],
  });
  const [run] = await query<{ status: string; epochs_done: number; error: string | null }>(
    'SELECT status, epochs_done, error FROM mldb_runs',
  );
  expect(run).toEqual({ status: 'completed', epochs_done: epochs, error: null });
  const [{ n }] = await query<{ n: number }>('SELECT COUNT(*) AS n FROM mldb_run_epochs');
  expect(n).toBe(epochs);
});

test('a run failed by the server being gone is recorded as failed, for that reason, once it returns', async () => {
  const child = mldbAsync(['train', '--model', 'lenet5', '--epochs', '400', '--batch-size', '32', '--no-store'], env);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const runsBefore = (await query<{ n: number }>('SELECT COUNT(*) AS n FROM mldb_runs'))[0].n;
  await waitFor(
    async () =>
      (
        await query<{ n: number }>("SELECT COUNT(*) AS n FROM mldb_runs WHERE epochs_done > 0 AND status = 'running'")
      )[0].n > 0,
    'the run under way',
    120_000,
  );
  // Down until the run ends: its test evaluation needs the server, and its record waits for it.
  await stopServer(server.pid);
  await waitFor(
    async () => /waiting up to 30 s for it to record the end of run/.test(stderr),
    'the wait note',
    120_000,
  );
  server = await startServer({ binary: findServerBinary()!, dataDir, port: server.port });
  expect(await exited).toBe(3);
  expect(stderr).toMatch(/^mldb: (cannot reach a MySQL server|lost the connection to the MySQL server) at .*$/m);
  const runs = await query<{ status: string; error: string }>('SELECT status, error FROM mldb_runs ORDER BY id');
  expect(runs).toHaveLength(runsBefore + 1);
  expect(runs[runs.length - 1]).toEqual({
    status: 'failed',
    error: expect.stringMatching(/^(cannot reach a MySQL server|lost the connection to the MySQL server)/),
  });
});

test('a server stopped mid-import: one line, exit 3; a re-run stores exactly the distinct images', async () => {
  // Big enough that the import is still running when the server goes (noise PNGs do not compress).
  const files = 3000;
  const dir = makeLabeledFolder(evenLabels(4, files / 4), 64, tempDir(), 500_000);
  const child = mldbAsync(['import', dir, '--table', 'big', '--create'], env);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  let gone = false;
  await waitFor(
    async () => {
      const rows = await query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'outage' AND table_name = 'big'",
      );
      if (rows[0].n === 0) return false;
      return (await query<{ n: number }>('SELECT COUNT(*) AS n FROM big'))[0].n > 0;
    },
    'the first rows',
    120_000,
  );
  await stopServer(server.pid);
  gone = true;
  const code = await exited;
  server = await startServer({ binary: findServerBinary()!, dataDir, port: server.port });
  const mldbLines = stderr.split('\n').filter((l) => l.startsWith('mldb:'));
  expect({ gone, code, mldbLines }).toEqual({
    gone: true,
    code: 3,
    mldbLines: [expect.stringMatching(/^mldb: (cannot reach a MySQL server|lost the connection to the MySQL server)/)],
  });
  expect(stderr).not.toMatch(/\n\s+at |INSERT INTO|PNG/); // no stack, no statement, no image bytes
  const rerun = mldb(['import', dir, '--table', 'big', '--json'], env);
  expect(rerun.code).toBe(0);
  const [{ n, distinct }] = await query<{ n: number; distinct: number }>(
    'SELECT COUNT(*) AS n, COUNT(DISTINCT sha256) AS `distinct` FROM big',
  );
  expect([Number(n), Number(distinct)]).toEqual([files, files]);
});
