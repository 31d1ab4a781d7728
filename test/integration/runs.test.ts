import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { appendEpochs, createRun } from '../../src/db/run-writes';
import { getRun, listRuns } from '../../src/db/run-queries';
import { MlDb } from '../../src/mldb';
import { resolveConfig } from '../../src/config';
import { freshDatabase } from '../helpers/db';
import { runStart } from '../helpers/records';
import { SAMPLE_DIGITS, tempDir } from '../helpers/fixtures';
import { version as tfjsVersion } from '@tensorflow/tfjs';

const db = freshDatabase();
afterAll(() => db.cleanup());

describe('run records', () => {
  beforeAll(async () => {
    await db.mldb('digits').insertFolder(SAMPLE_DIGITS, { create: true });
  });

  test('a completed run: everything about it, epochs in order, test metrics, the model folder', async () => {
    const m = db.mldb('digits');
    const dir = path.join(tempDir(), 'model');
    const r = await m.train({
      model: 'lenet5',
      epochs: 3,
      batchSize: 32,
      seed: 7,
      backend: 'wasm',
      save: dir,
      record: { name: 'baseline' },
    });
    const run = await getRun(await m.connection(), r.runId!);
    expect(run).toMatchObject({
      id: r.runId,
      name: 'baseline',
      dataset: 'digits',
      architecture: 'lenet5',
      status: 'completed',
      seed: 7,
      backend: 'wasm',
      host: os.hostname(),
      versions: { mldb: require('../../package.json').version, tfjs: tfjsVersion['tfjs-core'] },
      fingerprint: r.fingerprint,
      split: { train: r.split.train, validation: r.split.validation, test: r.split.test },
      epochsDone: 3,
      modelDir: path.resolve(dir),
      error: null,
    });
    expect(run.hyperparameters).toMatchObject({
      optimizer: 'adam',
      learningRate: 0.001,
      epochs: 3,
      batchSize: 32,
      validationSplit: 0.1,
      seed: 7,
      patience: 0,
      backend: 'wasm',
    });
    expect(run.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(run.epochs.map((e) => e.loss)).toEqual(r.epochs.map((e) => e.loss));
    expect(run.final!.valAccuracy).toBe(r.epochs[2].valAccuracy);
    expect(run.test!.accuracy).toBe(r.test!.accuracy);
    expect(run.testDetails!.confusion).toEqual(r.test!.confusion);
    expect(run.endedAt! >= run.startedAt).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8')).runId).toBe(r.runId);
  });

  test('an interrupted run keeps the epochs done and saves no model; a failed one keeps its error', async () => {
    const m = db.mldb('digits');
    const conn = await m.connection();
    let epochs = 0;
    const dir = path.join(tempDir(), 'never');
    const stopped = await m.train({
      model: 'lenet5',
      epochs: 50,
      backend: 'wasm',
      save: dir,
      onEpoch: () => epochs++,
      shouldStop: () => epochs >= 2,
    });
    expect(stopped.stopReason).toBe('interrupted');
    const run = await getRun(conn, stopped.runId!);
    expect(run).toMatchObject({ status: 'interrupted', epochsDone: 2, modelDir: null, test: null });
    expect(run.epochs).toHaveLength(2);
    expect(fs.existsSync(dir)).toBe(false);

    // A model folder that cannot be written: the target was fine when training started (it is
    // checked then) but a file took its parent's place meanwhile: the run fails and says why.
    const blocker = path.join(tempDir(), 'later-a-file');
    await expect(
      m.train({
        model: 'lenet5',
        epochs: 1,
        backend: 'wasm',
        save: path.join(blocker, 'model'),
        onEpoch: () => fs.writeFileSync(blocker, 'not a folder'),
      }),
    ).rejects.toThrow();
    const [failed] = await listRuns(conn, { status: 'failed' });
    expect(failed).toMatchObject({ status: 'failed', epochsDone: 1, modelDir: null });
    expect(failed.error).toMatch(/later-a-file is a file, not a folder/);
  });

  test('bad flags are refused before anything is recorded', async () => {
    const m = db.mldb('digits');
    const before = (await listRuns(await m.connection(), { limit: 1000 })).length;
    await expect(m.train({ model: 'nope' })).rejects.toThrow(/unknown model/);
    await expect(m.train({ model: 'lenet5', batchSize: 0 })).rejects.toThrow(/^batchSize must be at least 1, got 0$/);
    await expect(m.train({ model: 'lenet5', table: 'missing_table' })).rejects.toMatchObject({ exitCode: 4 });
    expect((await listRuns(await m.connection(), { limit: 1000 })).length).toBe(before);
  });

  test('listing filters by table, model and status, newest first', async () => {
    const conn = await db.mldb().connection();
    const all = await listRuns(conn, { dataset: 'digits' });
    expect(all.map((r) => r.id)).toEqual([...all.map((r) => r.id)].sort((a, b) => b - a));
    expect((await listRuns(conn, { status: 'completed' })).every((r) => r.status === 'completed')).toBe(true);
    expect(await listRuns(conn, { architecture: 'simple_cnn' })).toEqual([]);
    expect(await listRuns(conn, { dataset: 'other' })).toEqual([]);
    await expect(listRuns(conn, { status: 'done' })).rejects.toThrow(/unknown status/);
  });

  test('a run whose process was killed is settled as interrupted when runs are next read', async () => {
    const conn = await db.mldb().connection();
    const child = spawnSync(process.execPath, ['-e', '0']); // a pid that has certainly ended
    const id = await createRun(conn, runStart({ name: 'killed', pid: child.pid! }));
    const live = await createRun(conn, runStart({ name: 'alive' }));
    const elsewhere = await createRun(conn, runStart({ name: 'remote', host: 'another-host', pid: child.pid! }));
    const runs = await listRuns(conn, { limit: 1000 });
    const byId = new Map(runs.map((r) => [r.id, r]));
    expect(byId.get(id)).toMatchObject({
      status: 'interrupted',
      error: expect.stringMatching(/ended without recording its end/),
    });
    expect(byId.get(live)!.status).toBe('running');
    expect(byId.get(elsewhere)!.status).toBe('running');
    await conn.run('DELETE FROM mldb_runs WHERE id IN (?, ?, ?)', [id, live, elsewhere]);
  });

  test('an epoch whose loss is NaN or infinite is refused, never stored as 0', async () => {
    const conn = await db.mldb().connection();
    const id = await createRun(conn, runStart({ name: 'diverged' }));
    const epoch = { epoch: 1, accuracy: 0.1, valLoss: null, valAccuracy: null, seconds: 1, samplesPerSecond: 1 };
    for (const loss of [NaN, Infinity]) {
      await expect(appendEpochs(conn, id, [{ ...epoch, loss, learningRate: 0.1 }])).rejects.toThrow(
        new RegExp(`epoch 1 of run ${id} has a loss of ${loss}: it is not recorded`),
      );
    }
    const stored = await conn.query('SELECT * FROM mldb_run_epochs WHERE run_id = ?', [id]);
    expect(stored).toEqual([]);
    await conn.run('DELETE FROM mldb_runs WHERE id = ?', [id]);
  });

  test('the password never reaches a run record', async () => {
    // The test server accepts any password; this one must not be stored anywhere.
    const u = new URL(db.url);
    u.password = 'hunter2-run-secret';
    const m = new MlDb({
      config: resolveConfig({ url: u.toString(), table: 'digits' }, {}, '/nonexistent-cwd-for-tests'),
    });
    try {
      const r = await m.train({ model: 'lenet5', epochs: 1, backend: 'wasm', save: path.join(tempDir(), 'm') });
      const conn = await m.connection();
      const [row] = await conn.query<Record<string, unknown>>('SELECT * FROM mldb_runs WHERE id = ?', [r.runId]);
      expect(JSON.stringify(row)).not.toContain('hunter2');
      expect(fs.readFileSync(path.join(r.savedTo!, 'metadata.json'), 'utf8')).not.toContain('hunter2');
    } finally {
      await m.close();
    }
  });
});
