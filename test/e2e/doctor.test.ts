import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { mldb } from '../helpers/cli';
import { freshDatabase } from '../helpers/db';
import { tempDir } from '../helpers/fixtures';

/**
 * `mldb doctor` on this machine, as a user runs it: what it finds, what it says is missing, and
 * the exit code that scripts (and `npm test`, which runs `doctor --for tests` first) rely on.
 */
const db = freshDatabase();
const work = tempDir('mldb-doctor-');

afterAll(() => db.cleanup());

interface Report {
  purpose: string;
  ready: boolean;
  blocking: string[];
  checks: Array<{ id: string; status: string; detail: string; fix?: string }>;
  privileges: { account: string; checked: boolean; groups: Array<{ commands: string; allowed: boolean }> } | null;
}

const check = (r: Report, id: string) => r.checks.find((c) => c.id === id)!;

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** A PATH holding only links to `tools` (by name from this PATH): every other program is hidden. */
function pathWith(tools: string[]): string {
  const dir = fs.mkdtempSync(path.join(work, 'bin-'));
  for (const tool of tools) {
    const found = (process.env.PATH ?? '')
      .split(path.delimiter)
      .map((d) => path.join(d, tool))
      .find((p) => fs.existsSync(p));
    if (found) fs.symlinkSync(found, path.join(dir, tool));
  }
  return dir;
}

describe('mldb doctor', () => {
  test('against a reachable server: ready, with the server, engines and database described (--json)', () => {
    const r = mldb(['doctor', '--json'], { MLDB_URL: db.url });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report).toMatchObject({ purpose: 'main', ready: true, blocking: [] });
    expect(check(report, 'database')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/MariaDB|MySQL/) });
    expect(check(report, 'schema').detail).toMatch(/does not exist yet/);
    expect(check(report, 'max-allowed-packet').detail).toMatch(/MiB/);
    expect(check(report, 'onnxruntime')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^1\.\d+/) });
    // The tests build mldb's oneDNN addon (install-prerequisites.sh tests installs oneDNN).
    expect(check(report, 'onednn')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^\d+\.\d+\.\d+: /) });
    expect(check(report, 'training-engine').detail).toMatch(/^onednn for the networks it runs, else onnxruntime/);
    expect(check(report, 'server-binary').detail).toMatch(/mariadbd|mysqld/);
    // The shared test server skips its grant tables: the doctor says so instead of listing grants.
    expect(report.privileges).toMatchObject({ checked: false });
    expect(check(report, 'privileges').status).toBe('warn');
  });

  test('the human table names every check, and the verdict', () => {
    const r = mldb(['doctor'], { MLDB_URL: db.url });
    expect(r.code).toBe(0);
    for (const name of ['Node.js', 'server binary', 'Spider plugin', 'database', 'onnxruntime', 'Chromium', 'fonts'])
      expect(r.stdout).toContain(name);
    expect(r.stdout).toMatch(/^ready: mldb can use the configured database$/m);
  });

  test('an unreachable server: exit 3, one line saying what to do, the password never shown', async () => {
    const port = await closedPort();
    const r = mldb(['doctor'], { MLDB_URL: `mysql://someone:Hidden-pw9@127.0.0.1:${port}/x` });
    expect(r.code).toBe(3);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mldb doctor: database: someone@127\.0\.0\.1:\d+\/x .*cannot reach a MySQL server/);
    expect(r.stdout + r.stderr).not.toContain('Hidden-pw9');
    const json = mldb(['doctor', '--json'], { MLDB_URL: `mysql://someone:Hidden-pw9@127.0.0.1:${port}/x` });
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ ready: false, blocking: ['database'], privileges: null });
    expect(json.stdout).not.toContain('Hidden-pw9');
  });

  test('--for tests with Chromium hidden: exit 4 at once, one line naming it and the install command', () => {
    const r = mldb(['doctor', '--for', 'tests'], { PATH: pathWith(['fc-list', 'clang-format']) });
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^mldb doctor: Chromium: not on PATH .*apt-get install chromium/)]);
    expect(lines[0]).toContain('sudo scripts/install-prerequisites.sh');
  });

  test('--for tests with fonts and clang-format hidden too: one line for each', () => {
    const json = mldb(['doctor', '--for', 'tests', '--json'], { PATH: pathWith([]) });
    expect(json.code).toBe(4);
    expect((JSON.parse(json.stdout) as Report).blocking).toEqual(['chromium', 'fonts', 'clang-format']);
    const r = mldb(['doctor', '--for', 'tests'], { PATH: pathWith([]) });
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^mldb doctor: Chromium: /),
      expect.stringMatching(/^mldb doctor: fonts: .*fonts-dejavu-core/),
      expect.stringMatching(/^mldb doctor: clang-format: not on PATH .*apt-get install clang-format/),
    ]);
  });

  test('--for tests on this machine: one line, ready (what `npm test` prints first)', () => {
    const r = mldb(['doctor', '--for', 'tests']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('ready: `npm test` has what it needs\n');
  });

  test('--for demo with no server answering still passes where a server binary can be started', async () => {
    const r = mldb(['doctor', '--for', 'demo', '--json'], {
      MLDB_URL: `mysql://root@127.0.0.1:${await closedPort()}/x`,
    });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report).toMatchObject({ ready: true });
    expect(check(report, 'database').status).toBe('missing');
  });

  test('an unknown purpose is a usage error', () => {
    const r = mldb(['doctor', '--for', 'everything']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^mldb: option '--for <purpose>' argument 'everything' is invalid/);
  });
});
