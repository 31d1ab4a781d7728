import { migrate, MIGRATIONS, schemaVersion } from '../../src/db/migrations';
import { getRun } from '../../src/db/run-queries';
import { createRun } from '../../src/db/run-writes';
import { STUDIES_TABLE, TRIALS_TABLE } from '../../src/db/schema';
import { freshDatabase } from '../helpers/db';
import { runStart } from '../helpers/records';

const db = freshDatabase();
afterAll(() => db.cleanup());

const STEP = MIGRATIONS.find((m) => m.name.startsWith('mldb_studies and mldb_trials'))!;

test('the study tables upgrade the previous version, its runs kept; a re-run step is harmless', async () => {
  const conn = await db.mldb().connection();
  const runId = await createRun(conn, runStart({ experiment: 'kept', planKey: 'k'.repeat(64) }));
  // The database as the previous version left it: no study tables, no record of the step.
  await conn.run(`DROP TABLE ${STUDIES_TABLE}, ${TRIALS_TABLE}`);
  await conn.run('DELETE FROM mldb_schema WHERE version >= ?', [STEP.version]);
  expect(await schemaVersion(conn)).toBe(STEP.version - 1);

  const upgraded = await migrate(conn);
  expect(upgraded.applied).toContain(STEP.name);
  expect(await conn.query(`SELECT COUNT(*) AS n FROM ${STUDIES_TABLE}`)).toEqual([{ n: 0 }]);
  expect(await conn.query(`SELECT COUNT(*) AS n FROM ${TRIALS_TABLE}`)).toEqual([{ n: 0 }]);
  expect(await getRun(conn, runId)).toMatchObject({ id: runId, experiment: 'kept' });
  // A process killed between the step and its record runs it again: CREATE … IF NOT EXISTS.
  await STEP.up(conn, conn);
});
