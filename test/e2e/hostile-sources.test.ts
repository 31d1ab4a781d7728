import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, mldb, mldbRunning, type RunningCli } from '../helpers/cli';
import { freshDatabase } from '../helpers/db';
import { grayPng, tempDir } from '../helpers/fixtures';
import { waitFor } from '../helpers/serve';

/**
 * What is not a regular file, or is too large to be one row, named by a manifest or dropped into
 * a watched folder: refused with its reason, never read (a FIFO would block the read for ever,
 * /dev/zero would be read for ever, a sparse file of gigabytes would be held whole).
 */
const db = freshDatabase();
const env = { MLDB_URL: db.url };
afterAll(() => db.cleanup());

let seed = 7000;
const png = () => grayPng(16, 16, seed++);

interface Summary {
  imported: number;
  rejected: Array<{ path: string; reason: string }>;
  conflicts: unknown[];
}

/** A `--json` watch's last line, its summary, once it has ended cleanly. */
async function watchSummary(watch: RunningCli): Promise<Summary> {
  expect(await watch.exited).toBe(0);
  return JSON.parse(watch.stdout().trim().split('\n').pop()!) as Summary;
}

test('a manifest naming a FIFO, a device, a plain `..name`: the first two refused at once, the name imported', () => {
  const dir = tempDir('mldb-manifest-');
  fs.writeFileSync(path.join(dir, 'a.png'), png());
  fs.writeFileSync(path.join(dir, '..foo.png'), png());
  execFileSync('mkfifo', [path.join(dir, 'pipe.png')]);
  fs.symlinkSync('/dev/zero', path.join(dir, 'zero.png'));
  const manifest = path.join(dir, 'labels.csv');
  fs.writeFileSync(manifest, 'path,label\na.png,3\n..foo.png,4\npipe.png,5\nzero.png,6\n../outside.png,7\n');
  const r = mldb(['import', dir, '--manifest', manifest, '--table', 'm', '--create', '--json'], env);
  expect(r.stderr).not.toMatch(/unexpected/);
  expect(r.code).toBe(6);
  const summary = JSON.parse(r.stdout) as Summary;
  expect(summary.imported).toBe(2);
  const reasons = Object.fromEntries(summary.rejected.map((x) => [path.basename(x.path), x.reason]));
  expect(reasons).toEqual({
    'pipe.png': 'not a regular file',
    'zero.png': 'not a regular file',
    'labels.csv line 6': '../outside.png is outside the folder the manifest is for',
  });
});

test('the watch refuses a FIFO and a file larger than it holds, unread, and goes on', async () => {
  const dir = tempDir('mldb-watched-hostile-');
  fs.mkdirSync(path.join(dir, '3'));
  const watch = mldbRunning(['import', dir, '--watch', '--table', 'w', '--create', '--json', '--settle', '200ms'], env);
  try {
    await waitFor(async () => watch.stderr().includes('watching'), 'the watch to go live');
    execFileSync('mkfifo', [path.join(dir, '3', 'pipe.png')]);
    // 300 MiB on paper, nothing on disk: more than the watch's whole queue budget.
    fs.closeSync(fs.openSync(path.join(dir, '3', 'huge.png'), 'w'));
    fs.truncateSync(path.join(dir, '3', 'huge.png'), 300 * 1024 * 1024);
    fs.writeFileSync(path.join(dir, '3', 'good.png'), png());
    await waitFor(
      async () =>
        /huge\.png/.test(watch.stderr()) && /"imported":1|imported 1|1 imported/.test(watch.stdout() + watch.stderr()),
      'the good file in, the huge one refused',
      60_000,
    );
  } finally {
    watch.child.kill('SIGTERM');
  }
  const summary = await watchSummary(watch);
  expect(summary.imported).toBe(1);
  expect(summary.rejected.map((x) => [path.basename(x.path), x.reason])).toEqual([
    ['huge.png', expect.stringMatching(/^larger than \d+ bytes$/)],
  ]);
});

test('labels and file names holding control characters are printed escaped by show and rows', () => {
  const dir = tempDir('mldb-control-');
  const label = 'cat\x1b[2J\x1b[Hdog';
  fs.mkdirSync(path.join(dir, label));
  fs.mkdirSync(path.join(dir, 'plain'));
  fs.writeFileSync(path.join(dir, label, 'a\rforged.png'), png());
  fs.writeFileSync(path.join(dir, 'plain', 'b.png'), png());
  expect(mldb(['import', dir, '--table', 'ctl', '--create'], env).code).toBe(0);
  for (const args of [
    ['show', 'ctl'],
    ['rows', 'ctl'],
  ]) {
    const r = mldb(args, env);
    expect(r.code).toBe(0);
    // eslint-disable-next-line no-control-regex -- raw control characters are what must not appear
    expect(r.stdout).not.toMatch(/[\x1b\r]/);
    expect(r.stdout).toContain('cat\\x1b[2J\\x1b[Hdog');
  }
  expect(mldb(['rows', 'ctl'], env).stdout).toContain('a\\x0dforged.png');
});

test('a zip whose central directory lies is a damaged archive (exit 5, one line), not an unexpected error', () => {
  const dir = tempDir('mldb-zip-');
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, '4'), { recursive: true });
  for (const name of ['a.png', 'b.png', 'c.png']) fs.writeFileSync(path.join(src, '4', name), png());
  const zip = path.join(dir, 'digits.zip');
  execFileSync('python3', [
    '-c',
    'import sys, zipfile, os\n' +
      'with zipfile.ZipFile(sys.argv[1], "w") as z:\n' +
      '  for n in sorted(os.listdir(sys.argv[2])): z.write(os.path.join(sys.argv[2], n), "4/" + n)',
    zip,
    path.join(src, '4'),
  ]);
  // The second central directory header's signature, broken: the index now lies about its entries.
  const bytes = fs.readFileSync(zip);
  const headers = [...bytes.keys()].filter((i) => bytes.readUInt32LE(Math.min(i, bytes.length - 4)) === 0x02014b50);
  expect(headers.length).toBe(3);
  bytes.writeUInt32LE(0x02014b51, headers[1]);
  fs.writeFileSync(zip, bytes);
  const r = mldb(['import', zip, '--table', 'zipped', '--create'], env);
  expect(r.code).toBe(5);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('mldb:'));
  expect(lines).toEqual([expect.stringMatching(/^mldb: digits\.zip is a damaged zip archive \(.+\): /)]);
  expect(r.stderr).not.toMatch(/unexpected error|at .*\.js/);
});

test('a small zip whose entries inflate to 2.8 GB is imported in bounded memory', () => {
  const dir = tempDir('mldb-inflate-');
  const zip = path.join(dir, 'inflate.zip');
  // 140 entries of 20 MiB of zeros: 2.8 MB on disk.
  execFileSync('python3', [
    '-c',
    'import sys, zipfile\n' +
      'with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:\n' +
      '  data = bytes(20 * 1024 * 1024)\n' +
      '  for i in range(140): z.writestr(f"3/big-{i:03d}.png", data)',
    zip,
  ]);
  // The CLI in a child that reports its own peak resident memory when it is done.
  const report =
    `require(${JSON.stringify(BIN.replace(/bin\/mldb\.js$/, 'dist/cli.js'))}).main(process.argv)` +
    `.then(() => process.stderr.write('maxrss ' + process.resourceUsage().maxRSS + '\\n'))`;
  const r = spawnSync(
    process.execPath,
    ['-e', report, 'mldb', 'import', zip, '--table', 'inflated', '--create', '--json'],
    {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: os.tmpdir(), ...env },
      encoding: 'utf8',
    },
  );
  expect(r.status).toBe(6); // zeros are not images: every entry is rejected, after being read
  expect(JSON.parse(r.stdout).files).toBe(140);
  const peakKb = Number(/maxrss (\d+)/.exec(r.stderr)![1]);
  // Held all at once the entries would take 2.8 GB; in 64 MiB passes the process stays near 0.4 GB.
  expect(peakKb).toBeLessThan(1024 * 1024);
});

test('the watch follows no link out of its folder, stops at no symlink loop; --move-failed moves links', async () => {
  const dir = tempDir('mldb-watched-links-');
  const failed = tempDir('mldb-failed-');
  const outside = tempDir('mldb-outside-');
  fs.writeFileSync(path.join(outside, 'not-yours.png'), png());
  fs.mkdirSync(path.join(dir, '7'));
  const watch = mldbRunning(
    ['import', dir, '--watch', '--table', 'links', '--create', '--json', '--settle', '200ms', '--move-failed', failed],
    env,
  );
  try {
    await waitFor(async () => watch.stderr().includes('watching'), 'the watch to go live');
    fs.symlinkSync(outside, path.join(dir, '7', 'elsewhere'));
    fs.symlinkSync('loop', path.join(dir, '7', 'loop'));
    fs.writeFileSync(path.join(dir, '7', 'good.png'), png());
    await waitFor(
      async () =>
        /elsewhere/.test(watch.stderr()) &&
        /loop/.test(watch.stderr()) &&
        fs.readdirSync(path.join(dir, '7')).length === 1,
      'both links refused and moved, the good file stored',
      60_000,
    );
  } finally {
    watch.child.kill('SIGTERM');
  }
  const summary = await watchSummary(watch);
  expect(summary.imported).toBe(1);
  expect(Object.fromEntries(summary.rejected.map((x) => [path.basename(x.path), x.reason]))).toEqual({
    elsewhere: 'a link to a folder: the watch does not follow it',
    loop: 'symlink loop',
  });
  // The folder outside is untouched; only the links themselves were moved.
  expect(fs.readdirSync(outside)).toEqual(['not-yours.png']);
  expect(fs.lstatSync(path.join(failed, '7', 'elsewhere')).isSymbolicLink()).toBe(true);
});

test('a report on labels holding control characters is drawn whole (and a failed one leaves nothing)', () => {
  const dir = tempDir('mldb-report-labels-');
  for (const label of ['bell\x07', 'tab\there<&>']) {
    fs.mkdirSync(path.join(dir, label));
    for (let i = 0; i < 14; i++) fs.writeFileSync(path.join(dir, label, `${i}.png`), png());
  }
  expect(mldb(['import', dir, '--table', 'odd', '--create', '--test-fraction', '0.3'], env).code).toBe(0);
  const trained = mldb(
    ['train', '--table', 'odd', '--model', 'lenet5', '--epochs', '1', '--batch-size', '8', '--json', '--no-store'],
    env,
  );
  expect(trained.code).toBe(0);
  const runId = JSON.parse(trained.stdout).runId as number;
  const out = path.join(dir, 'report');
  const r = mldb(['report', String(runId), '--out', out], env);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.not.stringMatching(/mldb:/) });
  expect(fs.readdirSync(out).sort()).toEqual([
    'accuracy.png',
    'confusion.png',
    'index.html',
    'loss.png',
    'mistakes.png',
  ]);
  expect(fs.readFileSync(path.join(out, 'index.html'), 'utf8')).toContain('tab\\x09here&lt;&amp;&gt;');
  // A run that does not exist: nothing is written at all.
  const missing = path.join(dir, 'none');
  expect(mldb(['report', '999999', '--out', missing], env).code).toBe(4);
  expect(fs.existsSync(missing)).toBe(false);
});

test('a relabelled image under the watch is a reported label conflict, as import reports it', async () => {
  const dir = tempDir('mldb-watched-relabel-');
  fs.mkdirSync(path.join(dir, '3'));
  fs.mkdirSync(path.join(dir, '5'));
  const image = png();
  fs.writeFileSync(path.join(dir, '3', 'a.png'), image);
  const watch = mldbRunning(
    ['import', dir, '--watch', '--table', 'relabel', '--create', '--json', '--settle', '200ms'],
    env,
  );
  try {
    await waitFor(async () => /"imported":1/.test(watch.stdout()), 'the first file stored');
    fs.writeFileSync(path.join(dir, '5', 'a-again.png'), image);
    await waitFor(async () => /label conflict/.test(watch.stderr()), 'the conflict said');
  } finally {
    watch.child.kill('SIGTERM');
  }
  const summary = await watchSummary(watch);
  expect(watch.stderr()).toMatch(/label conflict .*a-again\.png \(5\): same image as 3\/a\.png \(3\), kept as 3/);
  expect(summary.conflicts).toEqual([
    expect.objectContaining({ label: '5', existingLabel: '3', existingSource: '3/a.png' }),
  ]);
});
