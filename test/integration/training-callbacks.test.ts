import path from 'node:path';
import { getRun, listRuns } from '../../src/db/run-queries';
import type { EpochRow } from '../../src/db/run-types';
import type { EpochPhases, TrainingCallback } from '../../src/ml/callbacks';
import { trainModel } from '../../src/ml/train';
import { TrainingProgress } from '../../src/commands/shared/training-progress';
import type { Progress } from '../../src/ui/progress';
import { freshDatabase } from '../helpers/db';
import { SAMPLE_DIGITS, tempDir } from '../helpers/fixtures';

const db = freshDatabase();
afterAll(() => db.cleanup());
beforeAll(async () => {
  await db.mldb('digits').insertFolder(SAMPLE_DIGITS, { create: true });
});

/** A spinner that keeps what it was asked to show: the terminal is not what this test is about. */
function collectingProgress(): Progress & { updates: string[] } {
  const updates: string[] = [];
  const noop = () => undefined;
  return { updates, update: (t) => updates.push(t), succeed: noop, fail: noop, clear: noop, log: noop };
}

test('the run exists before epoch 1; the recorder and the progress lines get each epoch once, in order', async () => {
  const m = db.mldb('digits');
  const conn = await m.connection();
  const lines: string[] = [];
  const spinner = collectingProgress();
  const progress = new TrainingProgress(spinner, (line) => lines.push(line), 3);
  // Before any epoch (onData comes once the rows are planned, just before the loop): the run's
  // row is there, running, with no epoch yet.
  let before: { id: number; status: string; epochs: number } | undefined;
  const seen: Array<{ epoch: number; recorded: boolean }> = [];
  const probe: TrainingCallback = {
    // After the recorder in the loop's order: the run it writes to is the one seen before training.
    async onEpochEnd(e: EpochRow) {
      const [running] = await listRuns(conn, { status: 'running' });
      seen.push({ epoch: e.epoch, recorded: running?.id === before?.id });
    },
  };
  const r = await m.train({
    model: 'lenet5',
    epochs: 3,
    batchSize: 32,
    seed: 5,
    backend: 'wasm',
    save: path.join(tempDir(), 'model'),
    callbacks: [progress, probe],
    onData: async () => {
      const [running] = await listRuns(conn, { status: 'running' });
      const run = await getRun(conn, running.id);
      before = { id: run.id, status: run.status, epochs: run.epochs.length };
    },
  });

  expect(before).toEqual({ id: r.runId, status: 'running', epochs: 0 });
  expect(seen).toEqual([1, 2, 3].map((epoch) => ({ epoch, recorded: true })));
  expect(lines.filter((l) => l.startsWith('epoch ')).map((l) => l.slice(0, 'epoch 1/3:'.length))).toEqual([
    'epoch 1/3:',
    'epoch 2/3:',
    'epoch 3/3:',
  ]);
  expect(spinner.updates.length).toBeGreaterThan(0);
  const run = await getRun(conn, r.runId!);
  expect(run.status).toBe('completed');
  expect(run.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
  expect(run.epochs.map((e) => e.loss)).toEqual(r.epochs.map((e) => e.loss));
});

test("an epoch's seconds split into steps, precise batch-norm's pass and validation, before onEpochEnd", async () => {
  const conn = await db.mldb('digits').connection();
  const run = async (preciseBn: boolean, epochs: number) => {
    const heard: string[] = [];
    const phases: EpochPhases[] = [];
    const r = await trainModel(conn, {
      table: 'digits',
      model: 'simple_cnn',
      epochs,
      seed: 1,
      preciseBn,
      // Three digits on the fastest engine: the phases, not the accuracy, are what is looked at.
      labels: ['0', '1', '2'],
      backend: 'onnxruntime',
      callbacks: [
        {
          onEpochPhases: (p) => {
            heard.push(`phases ${p.epoch}`);
            phases.push(p);
          },
          onEpochEnd: (e) => void heard.push(`end ${e.epoch}`),
        },
      ],
    });
    r.model.dispose();
    return { heard, phases, epochs: r.epochs };
  };
  const precise = await run(true, 2);
  expect(precise.heard).toEqual(['phases 1', 'end 1', 'phases 2', 'end 2']);
  expect(precise.phases.map((p) => p.seconds)).toEqual(precise.epochs.map((e) => e.seconds));
  for (const p of precise.phases) {
    // Each phase really ran (the pass reads and forwards every training row here), and the three
    // are parts of the epoch, not overlapping: batches are read and assembled besides.
    expect(Math.min(p.steps, p.preciseBn, p.validation)).toBeGreaterThan(0.005);
    expect(p.steps + p.preciseBn + p.validation).toBeLessThan(p.seconds);
  }
  const moving = await run(false, 1);
  expect(moving.phases[0].preciseBn).toBeLessThan(0.001);
  expect(moving.phases[0].validation).toBeGreaterThan(0.005);
});
