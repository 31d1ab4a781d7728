import fs from 'node:fs';
import path from 'node:path';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/db/migrations';
import { listRuns } from '../../src/db/run-queries';
import { mldb, mldbAsync } from '../helpers/cli';
import { freshDatabase, rawConnection } from '../helpers/db';
import { makeLabeledFolder, tempDir } from '../helpers/fixtures';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'first-released-layout.sql');

async function schemaRows(url: string): Promise<{ version: number; name: string }[]> {
  const conn = await rawConnection(url);
  try {
    const [rows] = await conn.query('SELECT version, name FROM mldb_schema ORDER BY version');
    return rows as { version: number; name: string }[];
  } finally {
    await conn.end();
  }
}

describe('schema migrations', () => {
  test('the first released layout upgrades in place, keeps every row, run and epoch, and works', async () => {
    const db = freshDatabase();
    try {
      const conn = await rawConnection(db.url);
      await conn.query(fs.readFileSync(FIXTURE, 'utf8'));
      await conn.end();

      const m = db.mldb('legacy_digits');
      const details = await m.describe();
      expect(await schemaRows(db.url)).toEqual(MIGRATIONS.map((x) => ({ version: x.version, name: x.name })));
      expect(details.rows).toBe(24);
      expect(details.dataset.shape).toEqual({ height: 20, width: 20, channels: 1 });
      const legacy = await m.run(7);
      expect(legacy).toMatchObject({ name: 'legacy run', status: 'completed', test: { accuracy: 0.5 } });
      expect(legacy.epochs.map((e) => [e.epoch, e.loss])).toEqual([
        [1, 0.69],
        [2, 0.5],
      ]);

      // The upgraded database imports, trains (the run records its pid: migration 2) and lists runs.
      const folder = makeLabeledFolder({ '0': 6, '1': 6 }, 20);
      const imported = await m.insertFolder(folder);
      expect(imported.imported).toBe(12);
      const report = await m.train({ model: 'lenet5', epochs: 1, batchSize: 8, validationSplit: 0, save: tempDir() });
      expect(report.runId).toBeGreaterThan(7);
      const runs = await listRuns(await m.connection(), { dataset: 'legacy_digits' });
      expect(runs.map((r) => r.id)).toEqual([report.runId, 7]);
      expect((await m.describe()).rows).toBe(36);
    } finally {
      await db.cleanup();
    }
  });

  test('a database written by a newer mldb is refused with one line (exit 3) and left unchanged', async () => {
    const db = freshDatabase();
    try {
      expect(mldb(['tables'], { MLDB_URL: db.url }).code).toBe(0);
      const conn = await rawConnection(db.url);
      await conn.query(
        "INSERT INTO mldb_schema (version, name, mldb_version) VALUES (?, 'from the future', '99.0.0')",
        [SCHEMA_VERSION + 1],
      );
      const [before] = await conn.query('SHOW TABLES');
      await conn.end();

      const r = mldb(['create-table', 'fresh'], { MLDB_URL: db.url });
      expect(r.code).toBe(3);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(`has schema version ${SCHEMA_VERSION + 1}, newer than this mldb`);
      expect(r.stderr).toMatch(/nothing was changed/);

      const after = await rawConnection(db.url);
      const [tables] = await after.query('SHOW TABLES');
      await after.end();
      expect(tables).toEqual(before);
      expect((await schemaRows(db.url)).map((x) => x.version)).toEqual([
        ...MIGRATIONS.map((x) => x.version),
        SCHEMA_VERSION + 1,
      ]);
    } finally {
      await db.cleanup();
    }
  });

  test('four processes migrating a new database at once apply each migration once', async () => {
    const db = freshDatabase();
    try {
      const run = () =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = mldbAsync(['tables', '--json'], { MLDB_URL: db.url });
          let stderr = '';
          child.stderr.on('data', (d) => (stderr += d));
          child.on('close', (code) => resolve({ code, stderr }));
        });
      const results = await Promise.all([run(), run(), run(), run()]);
      for (const r of results) expect(r).toEqual({ code: 0, stderr: '' });
      expect(await schemaRows(db.url)).toEqual(MIGRATIONS.map((x) => ({ version: x.version, name: x.name })));
    } finally {
      await db.cleanup();
    }
  });
});
