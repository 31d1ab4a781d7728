import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase, rawConnection } from '../helpers/db';
import { mldb } from '../helpers/cli';

/** A database from before versions upgrades in place: its rows become version 0, and edit from there. */
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'first-released-layout.sql');

test('an existing table upgrades: its rows are version 0, edits make 1, 2…, @0 reads them as they were', async () => {
  const db = freshDatabase();
  try {
    const conn = await rawConnection(db.url);
    await conn.query(fs.readFileSync(FIXTURE, 'utf8'));
    await conn.end();

    const m = db.mldb('legacy_digits');
    const before = await m.rows('legacy_digits', { limit: 100 });
    expect(before).toHaveLength(24);
    const versions = await m.versions('legacy_digits');
    expect(versions.map((v) => [v.version, v.kind, v.rows])).toEqual([[0, 'baseline', 24]]);
    const db2 = await m.connection();
    const [{ n }] = await db2.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ' +
        "AND TABLE_NAME = 'legacy_digits' AND COLUMN_NAME = 'version' AND COLUMN_DEFAULT = '0'",
    );
    expect(Number(n)).toBe(1);

    expect(await m.relabel('legacy_digits', [before[0].id], 'changed')).toMatchObject({ version: 1 });
    expect(await m.removeRows('legacy_digits', { ids: [before[1].id] })).toMatchObject({ version: 2 });
    expect(await m.rows('legacy_digits@0', { limit: 100 })).toEqual(before);
    // A run from before versions has no table version: --like says so and what to use instead.
    const r = mldb(['train', '--like', 'run:7'], { MLDB_URL: db.url });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/run 7 did not record its table version.*--rows-until run:7/);
  } finally {
    await db.cleanup();
  }
});
