import type { Db } from '../../src/db/db';
import { addFinishedTrials, listTrials } from '../../src/db/studies';
import { claimTrial } from '../../src/db/trial-claims';
import { studyLeaderboard } from '../../src/study/leaderboard';
import { openStudy } from '../../src/study/study';
import type { Trial } from '../../src/study/trial';
import type { StudySpec } from '../../src/study/types';
import { runWorker, type Objective } from '../../src/study/worker';
import { freshDatabase } from '../helpers/db';

const db = freshDatabase();
afterAll(() => db.cleanup());
/** A connection pool of its own: each worker here is as separate as another process would be. */
const pool = async (): Promise<Db> => db.mldb().connection();

const grid = (name: string, values: number[], extra: Partial<StudySpec> = {}): StudySpec => ({
  name,
  space: { x: { kind: 'choice', values } },
  sampler: 'grid',
  trials: values.length,
  seed: 0,
  pruner: 'none',
  startupTrials: 0,
  objective: 'score',
  direction: 'maximize',
  ...extra,
});

/** An objective that reports `steps` values on a curve set by x and records who ran what. */
function curve(calls: number[], steps = 3, pauseMs = 0): Objective {
  return async (trial: Trial) => {
    calls.push(trial.number);
    const x = Number(trial.params.x);
    for (let s = 1; s <= steps; s++) {
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      await trial.report(s, x * s);
      if (trial.shouldStop()) break;
    }
    return x * steps;
  };
}

describe('the study engine against the real server', () => {
  test('two workers on a 12-trial grid run each trial exactly once; a re-run runs nothing', async () => {
    const spec = grid('twelve', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const calls: number[] = [];
    const [a, b] = await Promise.all([pool(), pool()]);
    const [sa, sb] = await Promise.all([openStudy(a, spec), openStudy(b, spec)]);
    expect(sa.id).toBe(sb.id);
    const summaries = await Promise.all([runWorker(a, sa, curve(calls, 3, 5)), runWorker(b, sb, curve(calls, 3, 5))]);
    expect([...calls].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(summaries[0].completed + summaries[1].completed).toBe(12);
    const trials = await listTrials(a, sa.id);
    expect(trials.map((t) => [t.number, t.state, t.attempts])).toEqual(trials.map((t) => [t.number, 'completed', 1]));
    const board = await studyLeaderboard(a, sa);
    expect(board.selected).toMatchObject({ number: 11, value: 36 });

    const again: number[] = [];
    expect(await runWorker(a, await openStudy(a, spec), curve(again))).toMatchObject({ completed: 0, failed: 0 });
    expect(again).toEqual([]);
  });

  test('a trial whose worker stopped heartbeating goes back to the queue; a live slow one is never taken', async () => {
    const conn = await pool();
    const study = await openStudy(conn, grid('stranded', [1, 2, 3]));
    // A worker that claimed trial 0 and died: no heartbeat ever after.
    const dead = await claimTrial(conn, study.id, 'gone-host:1:dead', 60_000, false);
    expect(dead).toMatchObject({ number: 0, state: 'running' });
    // Two live workers with a short grace, each slow between reports (longer than the grace:
    // only the heartbeat keeps their trials theirs).
    const calls: number[] = [];
    const options = { graceSeconds: 0.6, waitSeconds: 60 };
    const [a, b] = await Promise.all([pool(), pool()]);
    await Promise.all([
      runWorker(a, study, curve(calls, 2, 900), options),
      runWorker(b, study, curve(calls, 2, 900), options),
    ]);
    expect([...calls].sort()).toEqual([0, 1, 2]);
    const trials = await listTrials(conn, study.id);
    expect(trials.map((t) => [t.number, t.state, t.attempts])).toEqual([
      [0, 'completed', 2],
      [1, 'completed', 1],
      [2, 'completed', 1],
    ]);
    expect(trials[0].worker).not.toBe('gone-host:1:dead');
  });

  test('the median pruner stops a plainly worse trial: pruned with its steps, never selected', async () => {
    const conn = await pool();
    const study = await openStudy(conn, grid('pruned', [5, 6, 0.1, 7], { pruner: 'median', startupTrials: 2 }));
    const calls: number[] = [];
    const summary = await runWorker(conn, study, curve(calls, 4));
    expect(summary).toMatchObject({ completed: 3, pruned: 1 });
    const board = await studyLeaderboard(conn, study);
    const bad = board.trials.find((t) => t.number === 2)!;
    expect(bad).toMatchObject({ state: 'pruned', steps: [[1, 0.1]] });
    expect(board.selected).toMatchObject({ number: 3, state: 'completed' });
    expect(board.trials.map((t) => t.state)).toEqual(['completed', 'completed', 'completed', 'pruned']);
  });

  test('the asha pruner stops a plainly worse trial at its first rung: pruned, never selected', async () => {
    const conn = await pool();
    const study = await openStudy(conn, grid('asha', [5, 6, 7, 0.1], { pruner: 'asha', startupTrials: 2 }));
    const calls: number[] = [];
    const summary = await runWorker(conn, study, curve(calls, 4));
    expect(summary).toMatchObject({ completed: 3, pruned: 1 });
    const board = await studyLeaderboard(conn, study);
    // Trial 2 (x = 7) is the best at every rung and goes on; trial 3 (x = 0.1) is not among the
    // best third at rung 1, so it stops after its first report.
    expect(board.trials.find((t) => t.number === 2)).toMatchObject({ state: 'completed', value: 28 });
    expect(board.trials.find((t) => t.number === 3)).toMatchObject({ state: 'pruned', steps: [[1, 0.1]] });
    expect(board.selected).toMatchObject({ number: 2, state: 'completed' });
    expect(board.trials.map((t) => t.state)).toEqual(['completed', 'completed', 'completed', 'pruned']);
  });

  test('finished trials recorded at once take the first numbers; workers run only the rest', async () => {
    const conn = await pool();
    const spec = { ...grid('filled', []), space: { x: { kind: 'uniform', low: 0, high: 1 } }, sampler: 'tpe' as const };
    const study = await openStudy(conn, { ...spec, trials: 5 });
    const done = [0.1, 0.2, 0.3].map((x) => ({
      state: 'completed' as const,
      params: JSON.stringify({ x }),
      value: x,
      steps: JSON.stringify([[1, x]]),
    }));
    await addFinishedTrials(conn, study.id, done);
    const calls: number[] = [];
    expect(await runWorker(conn, study, curve(calls, 1))).toMatchObject({ completed: 2, failed: 0 });
    expect(calls).toEqual([3, 4]);
    const trials = await listTrials(conn, study.id);
    expect(trials.map((t) => [t.number, t.state, t.value === null ? null : t.value <= 1])).toEqual([
      [0, 'completed', true],
      [1, 'completed', true],
      [2, 'completed', true],
      [3, 'completed', true],
      [4, 'completed', true],
    ]);
    expect(trials.slice(0, 3).map((t) => [t.value, t.steps])).toEqual([
      [0.1, '[[1,0.1]]'],
      [0.2, '[[1,0.2]]'],
      [0.3, '[[1,0.3]]'],
    ]);
  });

  test('random and tpe with a seed draw the same trials again; another seed draws others', async () => {
    const space: StudySpec['space'] = {
      lr: { kind: 'log', low: 1e-4, high: 1e-1 },
      width: { kind: 'int', low: 8, high: 64 },
      act: { kind: 'choice', values: ['relu', 'tanh'] },
    };
    const objective: Objective = async (t) =>
      -Math.abs(Math.log10(Number(t.params.lr)) + 2) - Number(t.params.width) / 100;
    const drawn = async (name: string, sampler: 'random' | 'tpe', seed: number) => {
      const conn = await pool();
      const spec = { ...grid(name, []), space, sampler, trials: 14, seed };
      const study = await openStudy(conn, spec);
      await runWorker(conn, study, objective);
      return (await listTrials(conn, study.id)).map((t) => t.params);
    };
    for (const sampler of ['random', 'tpe'] as const) {
      const first = await drawn(`${sampler}-a`, sampler, 7);
      expect(first).toHaveLength(14);
      for (const p of first.map((x) => JSON.parse(x!))) {
        expect(p.lr).toBeGreaterThanOrEqual(1e-4);
        expect(p.lr).toBeLessThanOrEqual(1e-1);
        expect(Number.isInteger(p.width) && p.width >= 8 && p.width <= 64).toBe(true);
        expect(['relu', 'tanh']).toContain(p.act);
      }
      expect(await drawn(`${sampler}-b`, sampler, 7)).toEqual(first);
      expect(await drawn(`${sampler}-c`, sampler, 8)).not.toEqual(first);
    }
  });

  test('MlDb.optimize: any objective from the library, the selected trial first', async () => {
    const m = db.mldb();
    const spec = grid('library', [3, 1, 2], { direction: 'minimize' });
    const outcome = await m.optimize(spec, async (t) => Number(t.params.x) ** 2);
    expect(outcome.worker).toMatchObject({ completed: 3, failed: 0 });
    expect(outcome.selected).toMatchObject({ number: 1, value: 1, state: 'completed' });
    expect(outcome.trials.map((t) => t.value)).toEqual([1, 4, 9]);
  });

  test('four workers claiming at once on 200 suggested trials: no deadlock fails one, no trial twice', async () => {
    const spec: StudySpec = {
      ...grid('busy', []),
      space: { x: { kind: 'uniform', low: 0, high: 1 } },
      sampler: 'tpe',
      pruner: 'median',
      trials: 200,
    };
    const pools = await Promise.all([pool(), pool(), pool(), pool()]);
    const calls: number[] = [];
    const studies = await Promise.all(pools.map((p) => openStudy(p, spec)));
    const summaries = await Promise.all(pools.map((p, i) => runWorker(p, studies[i], curve(calls, 3))));
    expect(summaries.reduce((n, s) => n + s.completed + s.pruned, 0)).toBe(200);
    expect(summaries.reduce((n, s) => n + s.failed + s.lost, 0)).toBe(0);
    expect(new Set(calls).size).toBe(200);
    expect(calls).toHaveLength(200);
  });
});
