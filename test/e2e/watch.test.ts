import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { findServerBinary, startServer, stopServer, type RunningServer } from '../../src/local-servers/local-server';
import { mldb, mldbRunning, type RunningCli } from '../helpers/cli';
import { queryServer } from '../helpers/db';
import { digitsFolder, grayPng, tempDir } from '../helpers/fixtures';
import { waitFor } from '../helpers/serve';

/**
 * `import --watch` and `predict --watch` against their own server (so that it can be stopped):
 * files copied in, written slowly, renamed into place, duplicated; the server stopped and
 * restarted; the watcher killed and restarted. The row count must always end at the number of
 * distinct images. Nothing here sleeps to assert: every check polls with a deadline.
 */
const dataDir = tempDir('mldb-watch-db-');
let server: RunningServer;
let env: Record<string, string>;
const children: ChildProcess[] = [];

function start(args: string[]): RunningCli {
  const w = mldbRunning(args, env);
  children.push(w.child);
  return w;
}

function query<T>(sql: string): Promise<T[]> {
  return queryServer<T>(server.port, sql, 'watch');
}

async function rowCount(table: string): Promise<number> {
  try {
    return Number((await query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);
  } catch {
    return -1; // the table or the server is not there yet
  }
}

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = await startServer({ binary: findServerBinary()!, dataDir });
  env = { MLDB_URL: `mysql://root@127.0.0.1:${server.port}/watch` };
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await stopServer(server.pid);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('every file lands once: copied, slow, renamed, duplicated, across a server restart and a SIGKILL', async () => {
  const dir = tempDir('mldb-watched-');
  const args = ['import', dir, '--watch', '--table', 'w', '--create', '--json', '--settle', '1s'];
  let w = start(args);
  await waitFor(async () => w.stderr().includes('watching'), 'the watch to go live');
  const expected = new Set<string>();
  let seed = 1;
  const put = (label: string, name: string) => {
    const bytes = grayPng(20, 20, seed++);
    fs.mkdirSync(path.join(dir, label), { recursive: true });
    fs.writeFileSync(path.join(dir, label, name), bytes);
    expected.add(sha(bytes));
    return bytes;
  };

  // Copied in one by one, in a label folder that did not exist when the watch started.
  for (let i = 0; i < 30; i++) {
    put('a', `copied-${i}.png`);
    await pause(5);
  }
  // Written elsewhere under a temporary name, then renamed into place.
  for (let i = 0; i < 5; i++) {
    const bytes = grayPng(20, 20, seed++);
    fs.mkdirSync(path.join(dir, 'b'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'b', `.incoming-${i}.png`), bytes);
    fs.renameSync(path.join(dir, 'b', `.incoming-${i}.png`), path.join(dir, 'b', `renamed-${i}.png`));
    expected.add(sha(bytes));
  }
  // The same image under two more names.
  const dup = fs.readFileSync(path.join(dir, 'a', 'copied-0.png'));
  fs.writeFileSync(path.join(dir, 'b', 'dup-1.png'), dup);
  fs.writeFileSync(path.join(dir, 'a', 'dup-2.png'), dup);
  // Written slowly in chunks, each pause shorter than --settle: never imported half-written.
  const slow = grayPng(40, 40, seed++);
  const fd = fs.openSync(path.join(dir, 'b', 'slow.png'), 'w');
  for (let at = 0; at < slow.length; at += Math.ceil(slow.length / 4)) {
    fs.writeSync(fd, slow, at, Math.min(Math.ceil(slow.length / 4), slow.length - at));
    await pause(150);
  }
  fs.closeSync(fd);
  expected.add(sha(slow));

  await waitFor(async () => (await rowCount('w')) === expected.size, `${expected.size} rows`);
  const stored = async () =>
    new Set((await query<{ h: string }>('SELECT HEX(sha256) AS h FROM w')).map((r) => r.h.toLowerCase()));
  expect(await stored()).toEqual(expected);

  // The server goes away: ingestion pauses, and resumes when it is back.
  await stopServer(server.pid);
  for (let i = 0; i < 10; i++) put('c', `while-down-${i}.png`);
  await waitFor(async () => w.stderr().includes('ingestion paused'), 'the pause message');
  server = await startServer({ binary: findServerBinary()!, dataDir, port: server.port });
  await waitFor(async () => (await rowCount('w')) === expected.size, `${expected.size} rows after the restart`);
  // The watch says so once the retried batch has committed: the rows can be seen before the line.
  await waitFor(async () => /ingestion resumed/.test(w.stderr()), 'the resume message');

  // Nothing was refused: a half-written file was never taken (it would have failed to decode).
  expect(w.stderr()).not.toMatch(/rejected/);
  const batches = w
    .stdout()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(batches.filter((b) => b.rejected > 0)).toEqual([]);

  // Killed outright; files keep arriving; a new watch takes only what is missing.
  w.child.kill('SIGKILL');
  await w.exited;
  for (let i = 0; i < 10; i++) put('d', `while-dead-${i}.png`);
  w = start(args);
  await waitFor(async () => (await rowCount('w')) === expected.size, `${expected.size} rows after the SIGKILL`);
  expect(await stored()).toEqual(expected);

  // SIGTERM: exit 0 with a summary as the last JSON line; every other line is a committed batch.
  w.child.kill('SIGTERM');
  expect(await w.exited).toBe(0);
  const lines = w
    .stdout()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const summary = lines.pop();
  expect(summary).toMatchObject({ type: 'summary', table: 'w', rejected: [] });
  expect(lines.every((l) => l.type === 'batch' && typeof l.committedAt === 'string')).toBe(true);
  // The restarted watch listed the folder again: everything was already there but the 10 new files.
  expect(lines.reduce((n, l) => n + l.imported, 0)).toBe(10);
  expect(summary.imported).toBe(10);
});

test('--move-done and --move-failed move files after their batch; a bad file does not stop the watch', async () => {
  const dir = tempDir('mldb-spool-');
  const done = tempDir('mldb-done-');
  const failed = tempDir('mldb-failed-');
  const w = start([
    'import',
    dir,
    '--watch',
    '--table',
    'spool',
    '--create',
    '--move-done',
    done,
    '--move-failed',
    failed,
    '--settle',
    '200ms',
  ]);
  await waitFor(async () => w.stderr().includes('watching'), 'the watch to go live');
  fs.mkdirSync(path.join(dir, 'x'));
  fs.writeFileSync(path.join(dir, 'x', 'broken.png'), 'this is not an image');
  for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(dir, 'x', `ok-${i}.png`), grayPng(12, 12, 500 + i));
  fs.writeFileSync(path.join(dir, 'loose.png'), grayPng(12, 12, 600));
  const files = (d: string) =>
    fs.existsSync(d)
      ? fs
          .readdirSync(d, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => e.name)
          .sort()
      : [];
  await waitFor(async () => files(done).length === 3 && files(failed).length === 2, 'the files to be moved');
  expect(files(done)).toEqual(['ok-0.png', 'ok-1.png', 'ok-2.png']);
  expect(files(failed)).toEqual(['broken.png', 'loose.png']);
  expect(files(dir)).toEqual([]);
  expect(await rowCount('spool')).toBe(3);
  w.child.kill('SIGTERM');
  expect(await w.exited).toBe(0);
  expect(w.stdout()).toMatch(/3 imported/);
  expect(w.stdout()).toMatch(/rejected .*broken.png: /);
});

test('predict --watch classifies arrivals like predict does and logs them with source watch', async () => {
  const digits = digitsFolder();
  expect(mldb(['import', digits, '--table', 'digits', '--create'], env).code).toBe(0);
  const model = path.join(tempDir(), 'model');
  const trained = mldb(
    ['train', '--table', 'digits', '--model', 'lenet5', '--epochs', '1', '--save', model, '--no-store'],
    env,
  );
  expect(trained.code).toBe(0);

  const inbox = tempDir('mldb-inbox-');
  const p = start(['predict', '--model', model, '--watch', inbox, '--json', '--table', 'digits']);
  await waitFor(async () => p.stderr().includes('watching'), 'predict --watch to go live');
  const samples = fs
    .readdirSync(digits)
    .slice(0, 3)
    .map((label) => {
      const f = fs.readdirSync(path.join(digits, label))[0];
      return path.join(digits, label, f);
    });
  samples.forEach((f, i) => fs.copyFileSync(f, path.join(inbox, `${i}${path.extname(f)}`)));
  fs.writeFileSync(path.join(inbox, 'junk.png'), 'junk');
  const predictions = () =>
    p
      .stdout()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((l) => l.type === 'prediction');
  await waitFor(async () => predictions().length === 4, '4 prediction lines');
  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);

  const once = JSON.parse(mldb(['predict', '--model', model, '--json', ...samples], env).stdout);
  const byName = Object.fromEntries(predictions().map((x) => [path.basename(x.file), x]));
  samples.forEach((f, i) => {
    const want = once.predictions.find((x: { file: string }) => x.file === f);
    const got = byName[`${i}${path.extname(f)}`];
    expect(got.label).toBe(want.label);
    expect(got.confidence).toBeCloseTo(want.confidence, 5);
  });
  expect(byName['junk.png'].error).toMatch(/not a supported image/);
  const summary = JSON.parse(p.stdout().trim().split('\n').pop()!);
  expect(summary).toMatchObject({ type: 'summary', files: 4, predicted: 3, failed: 1, logged: 4, unlogged: 0 });
  const logged = await query<{ source: string; n: number }>(
    'SELECT source, COUNT(*) AS n FROM mldb_predictions GROUP BY source',
  );
  expect(logged.map((r) => [r.source, Number(r.n)])).toEqual([['watch', 4]]);
});
