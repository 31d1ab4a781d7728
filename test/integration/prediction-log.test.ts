import mysql from 'mysql2/promise';
import { parseUrl } from '../../src/config';
import { buildApp } from '../../src/serve/app';
import { createMetrics } from '../../src/serve/metrics';
import { PredictionLog } from '../../src/serve/prediction-log';
import type { Predictor } from '../../src/serve/predictor';
import { freshDatabase } from '../helpers/db';
import { loggedPrediction } from '../helpers/records';
import { waitFor } from '../helpers/serve';

/**
 * A correction that arrives while its row's INSERT is running must not be lost: the row object was
 * already sent, so the label has to wait for the write and then go to the database. The INSERT
 * is held deterministically by a table lock from another session; the correction goes through the
 * service's own label route (fastify's inject: the real app, without a socket).
 */
const db = freshDatabase();
afterAll(() => db.cleanup());

test('a label given while the row is being written ends up in the database', async () => {
  const m = db.mldb();
  await m.connection(); // creates the database and its tables
  const u = parseUrl(db.url);
  const session = () =>
    mysql.createConnection({ host: u.host, port: u.port, user: u.user, database: u.database, password: u.password });
  const locker = await session();
  const watcher = await session();
  const log = new PredictionLog(() => m.connection(), {
    maxQueueRows: 100,
    maxQueueBytes: 1e6,
    maxBatchRows: 10,
    flushMs: 1,
  });
  // The route reads only the model's labels and the page's recent answers from the predictor.
  const predictor = { labels: ['3', '8'], recent: [] } as unknown as Predictor;
  const app = await buildApp({
    predictor,
    log,
    metrics: createMetrics(),
    connect: () => m.connection(),
    host: '127.0.0.1',
    maxBodyBytes: 1e6,
    maxFiles: 1,
  });
  try {
    await locker.query('LOCK TABLES mldb_predictions WRITE');
    const r = loggedPrediction();
    log.push(r);
    await waitFor(async () => {
      const [rows] = await watcher.query(
        "SELECT 1 FROM information_schema.PROCESSLIST WHERE INFO LIKE 'INSERT INTO `mldb_predictions`%'",
      );
      return (rows as unknown[]).length > 0;
    }, 'the INSERT to wait on the lock');
    // The correction, while the INSERT is blocked:
    const labelled = app.inject({ method: 'POST', url: `/v1/predictions/${r.id}/label`, payload: { label: '8' } });
    await locker.query('UNLOCK TABLES');
    const answer = await labelled;
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({ id: r.id, label: '8', stored: 'database' });
    const [stored] = await watcher.query('SELECT true_label FROM mldb_predictions WHERE id = ?', [r.id]);
    expect((stored as Array<{ true_label: string }>)[0].true_label).toBe('8');
  } finally {
    await app.close();
    await locker.end();
    await watcher.end();
    await log.drain(5000);
  }
});

test('a row the database refuses is dropped and counted; the rows after it are written, none retried', async () => {
  const m = db.mldb();
  await m.connection();
  const log = new PredictionLog(() => m.connection(), {
    maxQueueRows: 100,
    maxQueueBytes: 1e6,
    maxBatchRows: 10,
    flushMs: 1,
  });
  try {
    // A model pushed from a folder may carry a label longer than the column (VARCHAR(191)).
    const bad = { ...loggedPrediction(), label: 'x'.repeat(300) };
    const good = [loggedPrediction(), loggedPrediction()];
    log.push(bad);
    for (const r of good) log.push(r);
    await waitFor(async () => log.stats().written === 2, 'the good rows to be written');
    expect(log.stats()).toMatchObject({ written: 2, dropped: 1, refused: 1, queued: 0, failing: false });
    const conn = await m.connection();
    const ids = (await conn.query<{ id: string }>('SELECT id FROM mldb_predictions')).map((r) => r.id);
    expect(ids).toEqual(expect.arrayContaining(good.map((r) => r.id)));
    expect(ids).not.toContain(bad.id);
    // The log goes on: a later row is written at once.
    const later = loggedPrediction();
    log.push(later);
    await waitFor(async () => log.stats().written === 3, 'a later row');
  } finally {
    await log.drain(5000);
  }
});
