import mysql from 'mysql2/promise';
import { UsageError, NotFoundError } from '../../src/errors';
import { parseUrl } from '../../src/config';
import { freshDatabase } from '../helpers/db';

const db = freshDatabase();
afterAll(() => db.cleanup());

async function tablesInDatabase(): Promise<string[]> {
  const p = parseUrl(db.url);
  const conn = await mysql.createConnection({
    host: p.host,
    port: p.port,
    user: p.user,
    password: p.password ?? '',
    database: db.name,
  });
  const [rows] = await conn.query('SHOW TABLES');
  await conn.end();
  return (rows as Array<Record<string, string>>).map((r) => Object.values(r)[0]).sort();
}

describe('dataset tables', () => {
  test('create, list, describe and drop; the database is created on demand', async () => {
    const m = db.mldb('digits');
    const ds = await m.createTable(undefined, { shape: { height: 20, width: 20, channels: 1 } });
    expect(ds).toMatchObject({ name: 'digits', shape: { height: 20, width: 20, channels: 1 }, testFraction: 0.1 });
    expect((await m.listTables()).map((t) => [t.name, t.rows])).toEqual([['digits', 0]]);
    expect((await m.describe()).rows).toBe(0);
    await expect(m.createTable('digits')).rejects.toThrow(/already exists/);
    await m.dropTable('digits');
    expect(await m.listTables()).toEqual([]);
    await expect(m.dropTable('digits')).rejects.toThrow(NotFoundError);
  });

  test.each(["x'; DROP TABLE mldb_datasets; --", 'a`b', 'select', 'y'.repeat(65), 'two words'])(
    'refuses the hostile name %j before any SQL runs',
    async (name) => {
      const m = db.mldb();
      const before = await tablesInDatabase().catch(() => []);
      await expect(m.createTable(name)).rejects.toThrow(UsageError);
      await expect(m.rows(name)).rejects.toThrow(UsageError);
      await expect(m.dropTable(name)).rejects.toThrow(UsageError);
      await expect(m.insertFolder('/tmp', { table: name, create: true })).rejects.toThrow(UsageError);
      expect(await tablesInDatabase().catch(() => [])).toEqual(before);
    },
  );

  test("a table dropped behind mldb's back is forgotten, not fatal", async () => {
    const m = db.mldb();
    await m.createTable('ghost');
    await (await m.connection()).run('DROP TABLE ghost');
    expect((await m.listTables()).map((t) => t.name)).not.toContain('ghost');
    await expect(m.createTable('ghost')).resolves.toMatchObject({ name: 'ghost' });
  });

  test('split fractions are validated', async () => {
    await expect(db.mldb().createTable('bad_split', { testFraction: 0.6, validationFraction: 0.5 })).rejects.toThrow(
      UsageError,
    );
  });
});
