import type { FastifyInstance } from 'fastify';
import { startDashboard } from '../../src/dashboard/server';
import { claimTrial } from '../../src/db/trial-claims';
import { openStudy } from '../../src/study/study';
import type { StudySpec } from '../../src/study/types';
import { runWorker } from '../../src/study/worker';
import { freshDatabase } from '../helpers/db';
import { request } from '../helpers/http';

/** The experiment page's JSON shows the plan's live study: trials by state, worker, reported values. */

const db = freshDatabase();
let app: FastifyInstance;
afterAll(async () => {
  await app?.close();
  await db.cleanup();
});

test('an experiment that runs as a study: its trials with state, worker and values, pruned ones marked', async () => {
  const m = db.mldb();
  const conn = await m.connection();
  const spec: StudySpec = {
    name: 'live',
    space: { x: { kind: 'choice', values: [4, 5, 0.1, 6] } },
    sampler: 'grid',
    trials: 4,
    seed: 0,
    pruner: 'median',
    startupTrials: 2,
    objective: 'val_accuracy',
    direction: 'maximize',
  };
  const study = await openStudy(conn, spec);
  await runWorker(
    conn,
    study,
    async (t) => {
      for (let s = 1; s <= 3; s++) {
        await t.report(s, Number(t.params.x) * s);
        if (t.shouldStop()) break;
      }
      return Number(t.params.x) * 3;
    },
    { maxTrials: 3 },
  );
  await claimTrial(conn, study.id, 'other-host:7:abc', 60_000, false);
  ({ app } = await startDashboard({ host: '127.0.0.1', port: 0, connect: () => m.connection() }));
  const port = (app.server.address() as { port: number }).port;
  const r = await request(port, '/api/experiments/live', {});
  expect(r.status).toBe(200);
  expect(r.body.runs).toEqual([]);
  expect(r.body.study).toMatchObject({ sampler: 'grid', pruner: 'median', objective: 'val_accuracy', trials: 4 });
  expect(
    r.body.study.rows.map((t: { state: string; worker: string; steps: unknown[] }) => [t.state, t.steps.length]),
  ).toEqual([
    ['completed', 3],
    ['completed', 3],
    ['pruned', 1],
    ['running', 0],
  ]);
  expect(r.body.study.rows[3].worker).toBe('other-host:7:abc');
  expect((await request(port, '/api/experiments/none-such', {})).status).toBe(404);
});
