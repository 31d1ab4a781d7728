import fs from 'node:fs';
import path from 'node:path';
import { findServerBinary, startServer, stopServer, type RunningServer } from '../../src/local-servers/local-server';
import { mldb } from '../helpers/cli';
import { queryServer } from '../helpers/db';
import { SAMPLE_DIGITS, tempDir } from '../helpers/fixtures';
import { startServe, waitFor } from '../helpers/serve';

/**
 * Users with only the privileges docs/storage.md lists: read-only commands work with SELECT, the
 * service with SELECT + INSERT on the prediction log, and a missing privilege is named. This file
 * starts its own server with real accounts (the shared test server skips the grant tables).
 */
const dataDir = tempDir('mldb-grants-db-');
const work = tempDir('mldb-grants-');
let server: RunningServer;
const url = (user: string, database = 'grants') =>
  `mysql://${user}${user === 'root' ? '' : ':Secret-pw1'}@127.0.0.1:${server.port}/${database}`;
const as = (user: string, database?: string) => ({ MLDB_URL: url(user, database), MLDB_TABLE: 'digits' });

/** The count in `sql` (SELECT COUNT(*) AS n …) on the database the commands use. */
async function count(sql: string): Promise<number> {
  return Number((await queryServer<{ n: number }>(server.port, sql, 'grants'))[0].n);
}

let sample: string;

beforeAll(async () => {
  server = await startServer({ binary: findServerBinary()!, dataDir, grantTables: true });
  // A small table, a trained model (stored in the database too) and a recorded run, made by root.
  const dir = path.join(work, 'digits');
  for (const d of fs.readdirSync(SAMPLE_DIGITS)) {
    fs.mkdirSync(path.join(dir, d), { recursive: true });
    for (const f of fs.readdirSync(path.join(SAMPLE_DIGITS, d)).slice(0, 12))
      fs.copyFileSync(path.join(SAMPLE_DIGITS, d, f), path.join(dir, d, f));
  }
  sample = path.join(dir, '3', fs.readdirSync(path.join(dir, '3'))[0]);
  fs.mkdirSync(path.join(work, 'new', '3'), { recursive: true });
  fs.copyFileSync(
    path.join(SAMPLE_DIGITS, '3', fs.readdirSync(path.join(SAMPLE_DIGITS, '3'))[20]),
    path.join(work, 'new', '3', 'x.png'),
  );
  expect(mldb(['import', dir, '--create', '--test-fraction', '0.2'], as('root')).code).toBe(0);
  const trained = mldb(['train', '--model', 'lenet5', '--epochs', '1', '--save', path.join(work, 'model')], as('root'));
  expect(trained.code).toBe(0);
  await queryServer(server.port, [
    'CREATE DATABASE empty_db',
    "CREATE USER reader@'127.0.0.1' IDENTIFIED BY 'Secret-pw1'",
    "GRANT SELECT ON grants.* TO reader@'127.0.0.1'",
    "GRANT SELECT ON empty_db.* TO reader@'127.0.0.1'",
    "CREATE USER service@'127.0.0.1' IDENTIFIED BY 'Secret-pw1'",
    "GRANT SELECT ON grants.* TO service@'127.0.0.1'",
    "GRANT INSERT, UPDATE ON grants.mldb_predictions TO service@'127.0.0.1'",
    // The grants import needed before mldb kept its findings: imports still work, and say what is not kept.
    "CREATE USER importer@'127.0.0.1' IDENTIFIED BY 'Secret-pw1'",
    "GRANT SELECT ON grants.* TO importer@'127.0.0.1'",
    "GRANT INSERT, UPDATE ON grants.digits TO importer@'127.0.0.1'",
    "GRANT UPDATE ON grants.mldb_datasets TO importer@'127.0.0.1'",
    "GRANT INSERT ON grants.mldb_table_versions TO importer@'127.0.0.1'",
  ]);
});

afterAll(async () => {
  await stopServer(server.pid);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('least privilege', () => {
  test('with SELECT only, every read-only command works', () => {
    const commands = [
      ['tables'],
      ['show'],
      ['rows', '--limit', '3'],
      ['export', path.join(work, 'exported')],
      ['runs'],
      ['runs', 'show', '1'],
      ['models', 'list'],
      ['evaluate', '--model', 'run:1'],
      ['predict', '--model', 'run:1', sample],
      ['report', '1', '--out', path.join(work, 'report')],
      ['predictions'],
      ['versions'],
      ['rows', 'digits@1', '--limit', '3'],
      ['show', 'digits@0'],
      ['diff', 'digits@0', 'digits'],
    ];
    const failed = commands
      .map((args) => ({ args, r: mldb(args, as('reader')) }))
      .filter(({ r }) => r.code !== 0)
      .map(({ args, r }) => `${args.join(' ')}: ${r.code} ${r.stderr.trim()}`);
    expect(failed).toEqual([]);
  });

  test('a command that needs more names the privilege it lacks (exit 3), and leaves nothing behind', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['import', path.join(work, 'new')],
        // The first statement refused: the batch's version number (import makes one per batch).
        /^mldb: reader lacks the UPDATE privilege on table grants\.mldb_datasets: /m,
      ],
      [['create-table', 'more'], /^mldb: reader lacks the CREATE privilege on table grants\.more: /],
      [['drop-table', 'digits', '--yes'], /^mldb: reader lacks the DROP privilege on table grants\.digits: /],
      [
        ['train', '--model', 'lenet5', '--epochs', '1'],
        /^mldb: reader lacks the INSERT privilege on table grants\.mldb_runs: /,
      ],
      [['tables'], /^mldb: database "empty_db" has no mldb tables yet and reader may not create them \(no CREATE/],
      [['relabel', 'digits', '1', '2', '--to', '7'], /^mldb: reader lacks the \w+ privilege on table grants\.\w+: /],
      [['rm-rows', 'digits', '1'], /^mldb: reader lacks the \w+ privilege on table grants\.\w+: /],
      [['tag', 'digits', 'clean'], /^mldb: reader lacks the UPDATE privilege on table grants\.mldb_table_versions: /],
    ];
    for (const [args, message] of cases) {
      const r = mldb(args, args[0] === 'tables' ? as('reader', 'empty_db') : as('reader'));
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({
        args,
        code: 3,
        stderr: expect.stringMatching(message),
      });
      if (args[0] !== 'tables')
        expect(r.stderr).toMatch(/: ask an administrator for GRANT [A-Z, ]+ ON [\w.*]+ TO reader /);
      expect(r.stderr.match(/^mldb:/gm)).toHaveLength(1);
      expect(r.stderr).not.toContain('Secret-pw1');
    }
    expect(await count("SELECT COUNT(*) AS n FROM mldb_runs WHERE status <> 'completed'")).toBe(0);
    // The refused edits changed nothing and made no version.
    expect(
      await count("SELECT COUNT(*) AS n FROM mldb_table_versions WHERE kind <> 'import' AND kind <> 'create'"),
    ).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM mldb_row_history')).toBe(0);
  });

  test('serve logs and corrects predictions with SELECT, and INSERT, UPDATE on mldb_predictions', async () => {
    const s = await startServe(['--model', 'run:1'], as('service'));
    try {
      const form = new FormData();
      form.append('file', new Blob([fs.readFileSync(sample)]), 'digit.png');
      const res = await fetch(`${s.url}/v1/predict`, { method: 'POST', body: form });
      expect(res.status).toBe(200);
      await waitFor(
        async () => (await count('SELECT COUNT(*) AS n FROM mldb_predictions')) === 1,
        'the logged prediction',
        20_000,
      );
      const { id } = ((await res.json()) as { predictions: { id: string }[] }).predictions[0];
      const corrected = await fetch(`${s.url}/v1/predictions/${id}/label`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ label: '5' }),
      });
      expect(await corrected.json()).toEqual({ id, label: '5', stored: 'database' });
      expect(await s.stop()).toBe(0);
      expect(s.stderr()).not.toMatch(/denied|lacks/);
    } finally {
      await s.stop('SIGKILL');
    }
  });

  test('an importer without INSERT on mldb_import_findings imports all the same, and says what was not kept', () => {
    const dup = path.join(work, 'dup', '3');
    fs.mkdirSync(dup, { recursive: true });
    fs.copyFileSync(sample, path.join(dup, 'a.png'));
    fs.copyFileSync(sample, path.join(dup, 'b.png'));
    fs.copyFileSync(path.join(work, 'new', '3', 'x.png'), path.join(dup, 'new.png'));
    const r = mldb(['import', path.join(work, 'dup')], as('importer'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 imported/);
    expect(r.stderr).toMatch(
      /^mldb: the conflicts and duplicates were not kept for mldb ui: .*INSERT.*mldb_import_findings/m,
    );
  });

  test('doctor says which commands each user may run, with the GRANTs each lacks', () => {
    const groups = (user: string) => {
      const r = mldb(['doctor', '--json'], as(user));
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('Secret-pw1');
      const report = JSON.parse(r.stdout) as {
        privileges: {
          account: string;
          checked: boolean;
          groups: { commands: string; allowed: boolean; missing: string[] }[];
        };
      };
      expect(report.privileges).toMatchObject({ account: `${user}@127.0.0.1`, checked: true });
      return new Map(report.privileges.groups.map((g) => [g.commands.split(/[ ,(]/)[0], g]));
    };
    const reader = groups('reader');
    expect(reader.get('tables')).toMatchObject({ allowed: true, missing: [] });
    // The same refusals the commands above meet, named before any runs.
    expect(reader.get('import')).toMatchObject({
      allowed: false,
      missing: [
        'INSERT, UPDATE ON grants.digits',
        'UPDATE ON grants.mldb_datasets',
        'INSERT ON grants.mldb_import_findings',
        'INSERT ON grants.mldb_table_versions',
      ],
    });
    expect(reader.get('train')!.missing).toContain('INSERT, UPDATE ON grants.mldb_runs');
    expect(reader.get('drop-table')!.missing).toContain('DROP ON grants.digits');
    const service = groups('service');
    expect(service.get('serve')).toMatchObject({ allowed: true });
    expect(service.get('import')!.allowed).toBe(false);
    const root = groups('root');
    expect([...root.values()].every((g) => g.allowed)).toBe(true);
  });
});
