import crypto from 'node:crypto';
import fs from 'node:fs';
import { walkLabeledFolder } from '../../src/ingest/walk-labeled-folder';
import { freshDatabase } from '../helpers/db';
import { mldb, mldbAsync } from '../helpers/cli';
import { FILEDATA, makeLabeledFolder } from '../helpers/fixtures';

const db = freshDatabase();
afterAll(() => db.cleanup());

// One pool for all the polling: a new one per poll would exhaust the server's connections.
const probe = db.mldb();

async function rowCount(): Promise<number> {
  const conn = await probe.connection();
  const [r] = await conn.query<{ n: number }>('SELECT COUNT(*) AS n FROM digits').catch(() => [{ n: 0 }]);
  return Number(r.n);
}

const env = { MLDB_URL: db.url };

/** Enough files for several batches (the shared digits, or 4,000 generated ones) and how many are distinct. */
function corpus(): { dir: string; distinct: number } {
  const dir = fs.existsSync(FILEDATA)
    ? FILEDATA
    : makeLabeledFolder(Object.fromEntries([...Array(10).keys()].map((d) => [String(d), 400])), 20);
  const distinct = new Set(
    walkLabeledFolder(dir).files.map((f) => crypto.createHash('sha256').update(fs.readFileSync(f.path)).digest('hex')),
  ).size;
  return { dir, distinct };
}

test('an import killed with SIGKILL leaves whole batches; re-running finishes without duplicates', async () => {
  const { dir, distinct } = corpus();

  // Two threads whatever the machine: the pool is what is killed. --size 32 forces a resize of
  // every image: slow enough to be killed half-way. On a fast
  // machine the import may still finish first; then start over, a few times at most.
  let afterKill = distinct;
  for (let attempt = 0; attempt < 5 && afterKill === distinct; attempt++) {
    mldb(['drop-table', 'digits', '--yes'], env);
    expect(mldb(['create-table', 'digits', '--size', '32', '--channels', '1'], env).code).toBe(0);
    const child = mldbAsync(['import', dir, '--table', 'digits', '--threads', '2'], env);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    while ((await rowCount()) === 0) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    await exited;
    afterKill = await rowCount();
  }
  expect(afterKill).toBeGreaterThan(0);
  expect(afterKill).toBeLessThan(distinct); // the kill really landed half-way

  const conn = await probe.connection();
  const [bad] = await conn.query<{ n: number }>(
    'SELECT COUNT(*) AS n FROM digits WHERE LENGTH(pixels) <> 1024 OR LENGTH(original) = 0',
  );
  expect(Number(bad.n)).toBe(0);

  const resumed = mldb(['import', dir, '--table', 'digits', '--json'], env);
  expect(resumed.code).toBe(0);
  const s = JSON.parse(resumed.stdout);
  expect(s.alreadyPresent).toBe(afterKill);
  expect(await rowCount()).toBe(distinct);
  const [dups] = await conn.query<{ n: number }>('SELECT COUNT(*) - COUNT(DISTINCT sha256) AS n FROM digits');
  expect(Number(dups.n)).toBe(0);
  // Nothing left to do.
  expect(JSON.parse(mldb(['import', dir, '--table', 'digits', '--json'], env).stdout).imported).toBe(0);
});

test('SIGTERM stops a pooled import after the batches in hand: exit 130, whole rows; a re-run ends it', async () => {
  const { dir, distinct } = corpus();
  let stopped: { code: number | null; stderr: string } | undefined;
  for (let attempt = 0; attempt < 5 && !stopped; attempt++) {
    mldb(['drop-table', 'digits', '--yes'], env);
    expect(mldb(['create-table', 'digits', '--size', '32', '--channels', '1'], env).code).toBe(0);
    const child = mldbAsync(['import', dir, '--table', 'digits', '--threads', '2'], env);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    while ((await rowCount()) === 0) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGTERM');
    const code = await exited;
    // On a fast machine the import may finish before the signal lands: then try again.
    if (code !== 0) stopped = { code, stderr };
  }
  expect(stopped).toBeDefined();
  expect(stopped!.code).toBe(130);
  const lines = stopped!.stderr.split('\n').filter((l) => l.startsWith('mldb:'));
  expect(lines).toEqual([
    expect.stringMatching(/^mldb: import interrupted by SIGTERM: [\d,]+ image\(s\) stored, each one whole/),
  ]);
  const stored = await rowCount();
  expect(stored).toBeLessThan(distinct);
  const resumed = mldb(['import', dir, '--table', 'digits', '--json'], env);
  expect(resumed.code).toBe(0);
  expect(JSON.parse(resumed.stdout).alreadyPresent).toBe(stored);
  expect(await rowCount()).toBe(distinct);
});
