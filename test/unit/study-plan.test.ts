import { parsePlan } from '../../src/ml/experiment-plan';
import { shouldPrune } from '../../src/study/pruners';
import { gridParams, tpeParams, trialRandom } from '../../src/study/samplers';
import type { TrialHistory } from '../../src/study/types';

describe("a plan's search: ranges, samplers, pruners, the metric that chooses", () => {
  test('a grid of lists stays a grid, its cells in the order plans have always had', () => {
    const plan = parsePlan(
      { table: 'digits', grid: { model: 'lenet5', learningRate: [0.1, 0.01], seed: [1, 2] } },
      'g',
    );
    expect(plan.search).toEqual({
      sampler: 'grid',
      trials: 4,
      seed: 0,
      pruner: 'none',
      startupTrials: 5,
      objective: 'val_accuracy',
    });
    expect(gridParams(plan.space)).toEqual(plan.combinations);
  });

  test('ranges take random or tpe (tpe by default), with trials, a seed, a pruner and an objective', () => {
    const plan = parsePlan(
      {
        table: 'digits',
        grid: { model: ['lenet5'], learningRate: { log: [1e-4, 0.1] }, batchSize: { int: [16, 64] } },
        trials: 30,
        seed: 3,
        pruner: 'asha',
        objective: 'val_loss',
      },
      'r',
    );
    expect(plan.search).toMatchObject({ sampler: 'tpe', trials: 30, seed: 3, pruner: 'asha', objective: 'val_loss' });
    expect(plan.space.learningRate).toEqual({ kind: 'log', low: 1e-4, high: 0.1 });
    expect(plan.space.batchSize).toEqual({ kind: 'int', low: 16, high: 64 });
    expect(plan.combinations).toEqual([]);
  });

  test.each([
    [
      { grid: { model: 'lenet5', learningRate: { log: [0.1, 0.01] } } },
      /log range must be \[low, high\] with low < high/,
    ],
    [{ grid: { model: 'lenet5', learningRate: { log: [0, 0.1] } } }, /log range must be above 0/],
    [{ grid: { model: 'lenet5', learningRate: { gauss: [0, 1] } } }, /must be a list or one of/],
    [{ grid: { model: { int: [1, 2] } } }, /"model" cannot be a int range/],
    [{ grid: { model: 'lenet5', batchSize: { int: [1.5, 8] } } }, /int range takes whole numbers/],
    [{ grid: { model: 'lenet5', learningRate: { log: [1e-4, 0.1] } }, sampler: 'grid' }, /a grid takes lists only/],
    [{ grid: { model: 'lenet5' }, trials: 5 }, /"trials" is for sampler random or tpe/],
    [{ grid: { model: 'lenet5' }, sampler: 'bayes' }, /sampler must be one of grid, random, tpe/],
    [{ grid: { model: 'lenet5' }, pruner: 'hyperband' }, /pruner must be one of none, median, asha/],
    [{ grid: { model: 'lenet5' }, objective: 'test_accuracy' }, /objective must be one of val_accuracy, val_loss/],
    [{ grid: { model: 'lenet5' }, sampler: 'random', trials: 0 }, /trials must be a whole number of at least 1/],
  ])('refuses %j', (raw, message) => {
    expect(() => parsePlan({ table: 'digits', ...raw }, 'x')).toThrow(message);
  });

  const done = (number: number, steps: number[]): TrialHistory => ({
    number,
    state: 'completed',
    params: {},
    value: steps[steps.length - 1],
    steps: steps.map((v, i) => [i + 1, v]),
  });

  test("median: worse than the completed trials' median at the step is pruned, not before the startup trials", () => {
    const others = [done(0, [0.5, 0.6]), done(1, [0.4, 0.7]), done(2, [0.45, 0.65])];
    const q = { direction: 'maximize' as const, startupTrials: 3, others };
    expect(shouldPrune('median', { ...q, steps: [[1, 0.1]] })).toBe(true);
    expect(shouldPrune('median', { ...q, steps: [[1, 0.46]] })).toBe(false);
    expect(shouldPrune('median', { ...q, startupTrials: 4, steps: [[1, 0.1]] })).toBe(false);
    expect(shouldPrune('median', { ...q, direction: 'minimize', steps: [[1, 0.1]] })).toBe(false);
    expect(shouldPrune('none', { ...q, steps: [[1, 0.1]] })).toBe(false);
  });

  test('asha: at a rung (1, 3, 9…) only the best third goes on', () => {
    const others = [done(0, [0.9, 0.9, 0.9]), done(1, [0.8, 0.8, 0.8]), done(2, [0.7, 0.7, 0.7])];
    const q = { direction: 'maximize' as const, startupTrials: 0, others };
    expect(shouldPrune('asha', { ...q, steps: [[1, 0.95]] })).toBe(false);
    expect(shouldPrune('asha', { ...q, steps: [[1, 0.85]] })).toBe(true);
    // Step 2 is no rung: nothing is judged there.
    expect(
      shouldPrune('asha', {
        ...q,
        steps: [
          [1, 0.95],
          [2, 0.1],
        ],
      }),
    ).toBe(false);
  });

  test('tpe draws near the good trials once it has enough of them, within the range', () => {
    const space = { x: { kind: 'uniform' as const, low: 0, high: 1 } };
    const history: TrialHistory[] = Array.from({ length: 40 }, (_, i) => ({
      number: i,
      state: 'completed',
      params: { x: i / 40 },
      value: -Math.abs(i / 40 - 0.8),
      steps: [],
    }));
    const draws = Array.from({ length: 20 }, (_, n) =>
      Number(tpeParams(space, history, 'maximize', trialRandom(1, n)).x),
    );
    for (const x of draws) expect(x >= 0 && x <= 1).toBe(true);
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(Math.abs(mean - 0.8)).toBeLessThan(0.15);
  });
});
