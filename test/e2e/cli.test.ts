import fs from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { freshDatabase } from '../helpers/db';
import { mldb } from '../helpers/cli';
import { grayPng, makeLabeledFolder, SAMPLE_DIGITS, tempDir } from '../helpers/fixtures';

const db = freshDatabase();
afterAll(() => db.cleanup());
const env = () => ({ MLDB_URL: db.url });

describe('mldb CLI', () => {
  test('--help lists the commands and exits 0', () => {
    const r = mldb(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['create-table', 'drop-table', 'tables', 'show', 'rows', 'import', 'export', 'db'])
      expect(r.stdout).toContain(c);
  });

  test('an unknown command or flag is a usage error (exit 2)', () => {
    expect(mldb(['frobnicate']).code).toBe(2);
    expect(mldb(['tables', '--no-such-flag']).code).toBe(2);
  });

  test('no server: one line naming the fixes, exit 3, no stack trace, no password', () => {
    const r = mldb(['tables'], { MLDB_URL: 'mysql://someone:hunter2-secret@127.0.0.1:1/db' });
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot reach a MySQL server at 127.0.0.1:1/);
    expect(r.stderr + r.stdout).not.toContain('hunter2');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const verbose = mldb(['tables', '--verbose'], { MLDB_URL: 'mysql://someone:hunter2-secret@127.0.0.1:1/db' });
    expect(verbose.stderr).toMatch(/\n\s+at /);
    expect(verbose.stderr).not.toContain('hunter2');
  });

  test('nothing configured: the hint names MLDB_URL and `mldb db start`', () => {
    const r = mldb(['tables'], { MLDB_PORT: '1' }, tempDir());
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/MLDB_URL|mldb db start/);
  });

  test('create-table, import, tables, show, rows, export with --json', () => {
    const dir = makeLabeledFolder({ cats: 4, dogs: 3 }, 12);
    const created = mldb(['create-table', '--json'], env());
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout).dataset.name).toBe('images');

    const imported = mldb(['import', dir, '--json'], env());
    expect(imported.code).toBe(0);
    const summary = JSON.parse(imported.stdout);
    expect(summary).toMatchObject({
      table: 'images',
      imported: 7,
      alreadyPresent: 0,
      rejected: [],
      shape: { height: 12, width: 12, channels: 1 },
    });

    const again = mldb(['import', dir], env());
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/0 imported, 7 already present/);

    const tables = JSON.parse(mldb(['tables', '--json'], env()).stdout);
    expect(tables.tables[0]).toMatchObject({ name: 'images', rows: 7, labels: 2 });
    expect(mldb(['tables'], env()).stdout).toMatch(/images/);

    const show = JSON.parse(mldb(['show', '--json'], env()).stdout);
    expect(show.labels.map((l: { label: string; total: number }) => [l.label, l.total])).toEqual([
      ['cats', 4],
      ['dogs', 3],
    ]);

    const rows = JSON.parse(mldb(['rows', '--label', 'dogs', '--limit', '2', '--json'], env()).stdout);
    expect(rows.rows).toHaveLength(2);
    expect(rows.rows[0]).not.toHaveProperty('original');

    const out = tempDir();
    const exported = mldb(['export', 'images', out, '--label', 'cats', '--json'], env());
    expect(JSON.parse(exported.stdout).written).toBe(4);
    expect(fs.readdirSync(path.join(out, 'cats'))).toHaveLength(4);
  });

  test('rejected files: the good ones are stored, exit 6, --json lists path and reason', () => {
    const dir = makeLabeledFolder({ ok: 2 }, 8);
    fs.writeFileSync(path.join(dir, 'ok', 'broken.png'), grayPng(8, 8, 555).subarray(0, 30));
    const r = mldb(['import', dir, '--table', 'partial', '--create', '--json'], env());
    expect(r.code).toBe(6);
    const s = JSON.parse(r.stdout);
    expect(s.imported).toBe(2);
    expect(s.rejected).toEqual([
      { path: path.join(dir, 'ok', 'broken.png'), reason: expect.stringMatching(/corrupt PNG/) },
    ]);
  });

  test('hostile table names are refused with exit 2', () => {
    const r = mldb(['create-table', 'x`; DROP DATABASE mysql; --'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid table name/);
  });

  test('drop-table needs --yes when not on a terminal', () => {
    mldb(['create-table', 'to_drop'], env());
    const refused = mldb(['drop-table', 'to_drop'], env());
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--yes/);
    expect(mldb(['drop-table', 'to_drop', '--yes'], env()).code).toBe(0);
    expect(mldb(['show', 'to_drop'], env()).code).toBe(4);
  });

  test('a table of that name that mldb did not create: no suggestion to drop it, and it is left alone', async () => {
    const conn = await mysql.createConnection(db.url);
    await conn.query('CREATE TABLE customers (id INT PRIMARY KEY)');
    await conn.query('INSERT INTO customers VALUES (1)');
    const dir = makeLabeledFolder({ a: 1 }, 8);
    for (const args of [
      ['create-table', 'customers'],
      ['import', dir, '--table', 'customers', '--create'],
    ]) {
      const r = mldb(args, env());
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(
        /^mldb: table "customers" already exists in database "\w+" and is not an mldb dataset: /,
      );
      expect(r.stderr).not.toMatch(/drop-table/);
    }
    expect(mldb(['drop-table', 'customers', '--yes'], env()).code).toBe(4);
    const [rows] = await conn.query('SELECT id FROM customers');
    await conn.end();
    expect(rows).toEqual([{ id: 1 }]);
  });

  test('missing import directory: exit 4', () => {
    const r = mldb(['import', '/nonexistent/folder', '--create'], env());
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/no such directory/);
  });

  test('the shipped sample imports cleanly', () => {
    const r = mldb(['import', SAMPLE_DIGITS, '--table', 'sample', '--create', '--json'], env());
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.imported).toBeGreaterThanOrEqual(500);
    expect(s.shape).toEqual({ height: 28, width: 28, channels: 1 });
  });
});
