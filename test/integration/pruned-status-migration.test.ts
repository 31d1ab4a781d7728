import { migrate, MIGRATIONS, schemaVersion } from '../../src/db/migrations';
import { getRun } from '../../src/db/run-queries';
import { createRun, finishRun } from '../../src/db/run-writes';
import { RUNS_TABLE } from '../../src/db/schema';
import { freshDatabase } from '../helpers/db';
import { runStart } from '../helpers/records';

const db = freshDatabase();
afterAll(() => db.cleanup());

const STEP = MIGRATIONS.find((m) => m.name.startsWith('mldb_runs.status pruned'))!;

test('runs may end pruned once the previous version is upgraded, its runs kept; a re-run is harmless', async () => {
  const conn = await db.mldb().connection();
  const kept = await createRun(conn, runStart({ experiment: 'kept' }));
  await finishRun(conn, kept, { status: 'interrupted', error: 'killed' });
  // The database as the previous version left it: no `pruned` status, no record of the step.
  await conn.run(`ALTER TABLE ${RUNS_TABLE} MODIFY status ENUM('running','completed','failed','interrupted') NOT NULL`);
  await conn.run('DELETE FROM mldb_schema WHERE version >= ?', [STEP.version]);
  expect(await schemaVersion(conn)).toBe(STEP.version - 1);
  const before = await createRun(conn, runStart({ experiment: 'before' }));
  await expect(finishRun(conn, before, { status: 'pruned' })).rejects.toThrow();

  const upgraded = await migrate(conn);
  // This step and every later one (each re-runs harmlessly on a database that has its effect).
  expect(upgraded.applied).toEqual(MIGRATIONS.filter((m) => m.version >= STEP.version).map((m) => m.name));
  await finishRun(conn, before, { status: 'pruned', error: 'pruned after epoch 1' });
  expect(await getRun(conn, before)).toMatchObject({ status: 'pruned', error: 'pruned after epoch 1' });
  expect(await getRun(conn, kept)).toMatchObject({ experiment: 'kept', status: 'interrupted', error: 'killed' });
  // A process killed between the step and its record runs it again: the same ENUM again.
  await STEP.up(conn, conn);
  expect(await getRun(conn, before)).toMatchObject({ status: 'pruned' });
});
