import { getRun } from '../../src/db/run-queries';
import { freshDatabase } from '../helpers/db';
import { makeLabeledFolder, SAMPLE_DIGITS, tempDir } from '../helpers/fixtures';
import { mldb } from '../helpers/cli';

/**
 * A table that keeps growing (import --watch) does not move a run's rows: a run reads the rows
 * present when it starts, records the largest id, and `--rows-until` reproduces that set.
 */
const db = freshDatabase();
afterAll(() => db.cleanup());

test('a run pins its row set; rows added later change a new run but not --rows-until run:ID', async () => {
  const m = db.mldb('growing');
  await m.insertFolder(SAMPLE_DIGITS, { create: true });
  const conn = await m.connection();
  const [{ max }] = await conn.query<{ max: number }>('SELECT MAX(id) AS max FROM growing');
  const options = { model: 'lenet5', epochs: 1, batchSize: 16, seed: 3, backend: 'wasm' as const, save: tempDir() };
  const first = await m.train({ ...options, store: false });
  expect(first.rowsUntil).toBe(Number(max));
  expect((await getRun(conn, first.runId!)).rowsUntil).toBe(Number(max));

  // New rows, in every split (new labels too): a fresh run sees them…
  await m.insertFolder(makeLabeledFolder({ 0: 40, 1: 40, extra: 40 }, 12));
  const later = await m.train({ ...options, store: false, save: tempDir() });
  expect(later.rowsUntil).toBeGreaterThan(first.rowsUntil);
  expect(later.fingerprint).not.toEqual(first.fingerprint);
  expect(later.labels).toContain('extra');

  // …and the CLI's --rows-until run:ID reads exactly the first run's rows again.
  const again = mldb(
    [
      'train',
      '--model',
      'lenet5',
      '--epochs',
      '1',
      '--batch-size',
      '16',
      '--seed',
      '3',
      '--backend',
      'wasm',
      '--rows-until',
      `run:${first.runId}`,
      '--no-store',
      '--save',
      tempDir(),
      '--json',
    ],
    { MLDB_URL: db.url, MLDB_TABLE: 'growing' },
  );
  expect(again.code).toBe(0);
  const report = JSON.parse(again.stdout);
  expect(report.rowsUntil).toBe(first.rowsUntil);
  expect(report.fingerprint).toEqual(first.fingerprint);
  expect(report.split).toEqual(first.split);
  expect(report.labels).toEqual(first.labels);
  expect(report.test.accuracy).toBeCloseTo(first.test!.accuracy, 6);

  const bad = mldb(['train', '--model', 'lenet5', '--rows-until', 'yesterday'], { MLDB_URL: db.url });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/^mldb: invalid --rows-until "yesterday": pass a row id, or run:ID/);
});
