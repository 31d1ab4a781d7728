import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from '../helpers/db';
import { mldb } from '../helpers/cli';
import { tempDir } from '../helpers/fixtures';

const db = freshDatabase();
afterAll(() => db.cleanup());

test('the demo imports the sample, trains simple_cnn, evaluates it and leaves a model that predicts', () => {
  const cwd = tempDir();
  const r = mldb(['demo', '--json'], { MLDB_URL: db.url }, cwd);
  expect(r.stderr).not.toMatch(/^mldb:/m);
  expect(r.code).toBe(0);
  const doc = JSON.parse(r.stdout);
  expect(doc.import).toMatchObject({ table: 'demo_digits', imported: 600 });
  expect(doc.training).toMatchObject({
    model: 'simple_cnn',
    stopReason: 'completed',
    savedTo: path.join(cwd, 'models', 'demo_digits-simple_cnn'),
  });
  expect(doc.training.epochs).toHaveLength(12);
  // Chance is 0.1; a minute of simple_cnn on 489 digits reaches far above it (0.95 measured).
  expect(doc.training.test.accuracy).toBeGreaterThan(0.7);
  expect(fs.existsSync(path.join(cwd, 'models', 'demo_digits-simple_cnn', 'weights.bin'))).toBe(true);

  const text = mldb(['demo', '--no-train'], { MLDB_URL: db.url }, cwd);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/0 imported, 600 already present/);
});
