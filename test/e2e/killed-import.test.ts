import { freshDatabase } from '../helpers/db';
import { mldb, mldbAsync } from '../helpers/cli';
import { digitsFolder } from '../helpers/fixtures';

const db = freshDatabase();
afterAll(() => db.cleanup());

async function rowCount(): Promise<number> {
  const conn = await db.mldb().connection();
  const [r] = await conn.query<{ n: number }>('SELECT COUNT(*) AS n FROM digits').catch(() => [{ n: 0 }]);
  return Number(r.n);
}

test('an import killed with SIGKILL leaves whole batches; re-running finishes without duplicates', async () => {
  const dir = digitsFolder();
  const env = { MLDB_URL: db.url };
  // --size 32 forces a resize of every image: slow enough to be killed half-way.
  expect(mldb(['create-table', 'digits', '--size', '32', '--channels', '1'], env).code).toBe(0);
  const child = mldbAsync(['import', dir, '--table', 'digits'], env);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let seen = 0;
  while (seen === 0) {
    seen = await rowCount();
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await exited;
  const afterKill = await rowCount();

  const conn = await db.mldb().connection();
  const [bad] = await conn.query<{ n: number }>('SELECT COUNT(*) AS n FROM digits WHERE LENGTH(pixels) <> 1024 OR LENGTH(original) = 0');
  expect(Number(bad.n)).toBe(0);

  const resumed = mldb(['import', dir, '--table', 'digits', '--json'], env);
  expect(resumed.code).toBe(0);
  const s = JSON.parse(resumed.stdout);
  expect(s.alreadyPresent).toBe(afterKill);
  expect(s.imported).toBeGreaterThan(0); // the kill really landed half-way
  const total = await rowCount();
  expect(total).toBe(afterKill + s.imported);
  const [dups] = await conn.query<{ n: number }>('SELECT COUNT(*) - COUNT(DISTINCT sha256) AS n FROM digits');
  expect(Number(dups.n)).toBe(0);
  // Nothing left to do.
  expect(JSON.parse(mldb(['import', dir, '--table', 'digits', '--json'], env).stdout).imported).toBe(0);
});
