import crypto from 'node:crypto';
import { combinationLabel, parsePlan, planKey } from '../../src/ml/experiment-plan';

describe('experiment plans', () => {
  test('the grid expands to every combination, in order, with the defaults of mldb train', () => {
    const plan = parsePlan(
      { table: 'digits', grid: { models: ['LeNet5', 'simple_cnn'], learning_rate: [0.001, 0.01], seeds: 3 } },
      'sweep',
    );
    expect(plan.name).toBe('sweep');
    expect(plan.combinations).toEqual([
      { model: 'lenet5', optimizer: 'adam', learningRate: 0.001, batchSize: 64, epochs: 10, seed: 3 },
      { model: 'lenet5', optimizer: 'adam', learningRate: 0.01, batchSize: 64, epochs: 10, seed: 3 },
      { model: 'simple_cnn', optimizer: 'adam', learningRate: 0.001, batchSize: 64, epochs: 10, seed: 3 },
      { model: 'simple_cnn', optimizer: 'adam', learningRate: 0.01, batchSize: 64, epochs: 10, seed: 3 },
    ]);
    expect(plan).toMatchObject({
      validationSplit: 0.1,
      patience: 0,
      backend: 'auto',
      workers: 'auto', // resolved once the backend is chosen (resolveWorkers)
      save: 'models/experiments/sweep',
    });
    expect(combinationLabel(plan.combinations[1])).toBe('lenet5-adam-lr0.01-b64-e10-s3');
  });

  test('a grid larger than an experiment can mean is refused at once, by its count', () => {
    const ten = Array.from({ length: 10 }, (_, i) => i + 1);
    const grid = { model: 'lenet5', learningRate: ten.map((i) => i / 1000), batchSize: ten, epochs: ten, seed: ten };
    expect(() => parsePlan({ table: 'digits', grid: { ...grid, optimizer: ['adam', 'sgd'] } }, 'huge')).toThrow(
      'plan "huge" has 20,000 combinations, more than 10,000',
    );
    // A single axis of a million values too, without listing them one by one.
    const million = Array.from({ length: 1_000_000 }, (_, i) => i + 1);
    expect(() => parsePlan({ table: 'digits', grid: { model: 'lenet5', seed: million } }, 'long')).toThrow(
      /has 1,000,000 combinations/,
    );
    expect(parsePlan({ table: 'digits', grid }, 'fits').combinations).toHaveLength(10_000);
  });

  test('a combination keeps its key across re-runs and plan names, and changes with any setting', () => {
    const a = parsePlan({ table: 'digits', grid: { model: 'lenet5' } }, 'one');
    const b = parsePlan({ name: 'renamed', table: 'digits', grid: { model: ['lenet5'] } }, 'two');
    expect(planKey(a, a.combinations[0])).toBe(planKey(b, b.combinations[0]));
    const other = parsePlan({ table: 'digits', grid: { model: 'lenet5' }, patience: 2 }, 'one');
    expect(planKey(other, other.combinations[0])).not.toBe(planKey(a, a.combinations[0]));
    const otherTable = parsePlan({ table: 'faces', grid: { model: 'lenet5' } }, 'one');
    expect(planKey(otherTable, otherTable.combinations[0])).not.toBe(planKey(a, a.combinations[0]));
  });

  test('recipe settings are shared by every run, part of the key only when given', () => {
    const plain = parsePlan({ table: 'digits', grid: { model: 'lenet5' } }, 'p');
    const recipe = parsePlan(
      { table: 'digits', grid: { model: 'lenet5' }, reduce_lr_patience: 2, reduceLrFactor: '0.5', precise_bn: false },
      'p',
    );
    expect(plain.recipe).toEqual({});
    expect(recipe.recipe).toEqual({ reduceLrPatience: 2, reduceLrFactor: 0.5, preciseBn: false });
    expect(planKey(recipe, recipe.combinations[0])).not.toBe(planKey(plain, plain.combinations[0]));
    // A plan from before recipes existed keeps the key it had: the hash of table, combination, split, patience.
    const c = plain.combinations[0];
    const before = { table: 'digits', ...c, validationSplit: 0.1, patience: 0 };
    expect(planKey(plain, c)).toBe(crypto.createHash('sha256').update(JSON.stringify(before)).digest('hex'));
  });

  test('the recipe, imbalance and subset keys, in both spellings', () => {
    const plan = parsePlan(
      {
        table: 'digits',
        grid: { model: 'lenet5', optimizer: ['adamw'] },
        lr_schedule: 'onecycle',
        warmupEpochs: 1,
        weight_decay: '0.05',
        label_smoothing: 0.1,
        class_weight: { '3': 4 },
        batch_sampler: 'balanced',
        labels: ['1', '3'],
        sources: '*/train/*',
      },
      'p',
    );
    expect(plan.recipe).toEqual({
      lrSchedule: 'onecycle',
      warmupEpochs: 1,
      weightDecay: 0.05,
      labelSmoothing: 0.1,
      classWeight: { '3': 4 },
      batchSampler: 'balanced',
      labels: ['1', '3'],
      sources: '*/train/*',
    });
  });

  test.each([
    [
      { table: 'digits', grid: { model: ['lenet5'], optimizer: ['adam'] }, weight_decay: 0.1 },
      /weightDecay is the decoupled decay of optimizer adamw; optimizer adam has none/,
    ],
    [{ table: 'digits', grid: { model: ['lenet5'], epochs: [2] }, warmup_epochs: 2 }, /warmupEpochs must be below/],
    [{ table: 'digits', grid: { model: ['lenet5'] }, lr_schedule: 'step' }, /lrSchedule must be one of constant/],
    [
      { table: 'digits', grid: { model: ['lenet5'] }, class_weight: { a: -1 } },
      /classWeight must be above 0, got \{"a":-1\}/,
    ],
    [{ table: 'digits', grid: { model: ['lenet5'] }, reduceLrFactor: 2 }, /reduceLrFactor must be below 1, got 2/],
    [{ table: 'digits', grid: { model: ['lenet5'] }, bn_samples: 0 }, /bnSamples must be at least 1, got 0/],
    [{ grid: { model: ['lenet5'] } }, /names no table/],
    [{ table: 'digits' }, /names no model/],
    [{ table: 'digits', grid: { model: ['alexnet'] } }, /unknown model "alexnet"/],
    [{ table: 'digits', grid: { model: ['lenet5'], dropout: [0.5] } }, /unknown grid key "dropout"/],
    [
      { table: 'digits', grid: { model: ['lenet5'], batchSize: [0] } },
      /^plan "x": batchSize must be at least 1, got 0$/,
    ],
    [
      { table: 'digits', grid: { model: ['lenet5'], optimizer: ['lamb'] } },
      /optimizer must be one of sgd, .*, got "lamb"/,
    ],
    [{ table: 'digits', grid: { model: [] } }, /is empty/],
    [{ table: 'drop table x', grid: { model: ['lenet5'] } }, /invalid table name/],
    [{ table: 'digits', grid: { model: ['lenet5'] }, epochs: 3 }, /unknown plan key "epochs"/],
    [[1, 2], /must be an object/],
    [{ table: 'digits', grid: { model: ['lenet5'] }, workers: 0 }, /workers must be at least 1, got 0/],
  ])('refuses %j', (raw, message) => {
    expect(() => parsePlan(raw, 'x')).toThrow(message);
  });
});
