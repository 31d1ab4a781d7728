import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from '../helpers/db';
import { mldb } from '../helpers/cli';
import { SAMPLE_DIGITS, tempDir } from '../helpers/fixtures';

/**
 * The recipe, class-balance and subset flags of `mldb train` as a user runs them: each one's
 * errors name the flag and leave no run behind, and what a run took is in its record and in
 * `mldb runs show`.
 */
const db = freshDatabase();
afterAll(() => db.cleanup());
const env = () => ({ MLDB_URL: db.url, MLDB_TABLE: 'digits' });
const work = tempDir();
const TRAIN = ['train', '--model', 'lenet5', '--epochs', '1', '--batch-size', '32', '--backend', 'wasm'];

beforeAll(() => {
  expect(mldb(['import', SAMPLE_DIGITS, '--create', '--table', 'digits'], { MLDB_URL: db.url }).code).toBe(0);
});

const runCount = () => JSON.parse(mldb(['runs', '--json'], env()).stdout).runs.length as number;

test.each([
  [['--lr-schedule', 'step'], /--lr-schedule.*(constant|choices)/],
  [['--warmup-epochs', 'one'], /^mldb: --warmup-epochs must be a number, got "one"/m],
  [['--warmup-epochs', '1'], /^mldb: --warmup-epochs must be below the number of epochs \(1\), got 1/m],
  [
    ['--weight-decay', '0.1'],
    /^mldb: --weight-decay is the decoupled decay of optimizer adamw; optimizer adam has none/m,
  ],
  [['--optimizer', 'adamw', '--weight-decay', '1.5'], /^mldb: --weight-decay must be below 1, got 1.5/m],
  [['--label-smoothing', '1'], /^mldb: --label-smoothing must be below 1, got 1/m],
  [['--class-weight', 'missing.json'], /^mldb: --class-weight: no file at "missing.json"/m],
  [['--sampler', 'oversample'], /--sampler.*(shuffle|choices)/],
  [['--labels', ','], /^mldb: --labels must list at least one value, got \[\]/m],
  [['--labels', '1,seven'], /^mldb: --labels names "seven", but table "digits" has no rows of it/m],
])('train %j is refused, naming the flag, with no run recorded', (flags, message) => {
  const before = runCount();
  const r = mldb([...TRAIN, ...flags], env());
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(message);
  expect(runCount()).toBe(before);
});

test('a --class-weight file that is not JSON, and one with a weight below 0, are refused', () => {
  const bad = path.join(work, 'bad.json');
  fs.writeFileSync(bad, '{ "1": ');
  expect(mldb([...TRAIN, '--class-weight', bad], env()).stderr).toMatch(
    /^mldb: --class-weight: ".*bad.json" is not JSON/m,
  );
  const negative = path.join(work, 'negative.json');
  fs.writeFileSync(negative, '{ "1": -2 }');
  expect(mldb([...TRAIN, '--class-weight', negative], env()).stderr).toMatch(
    /^mldb: --class-weight must be above 0, got \{"1":-2\}/m,
  );
});

test('a run with the new flags records them, its class counts and imbalance ratio; runs show states them', () => {
  const weights = path.join(work, 'weights.json');
  fs.writeFileSync(weights, JSON.stringify({ '3': 2.5 }));
  const r = mldb(
    [
      ...TRAIN,
      '--epochs',
      '2',
      '--optimizer',
      'adamw',
      '--weight-decay',
      '0.05',
      '--lr-schedule',
      'onecycle',
      '--warmup-epochs',
      '0.5',
      '--label-smoothing',
      '0.1',
      '--class-weight',
      weights,
      '--sampler',
      'balanced',
      '--labels',
      '1,3,7',
      '--sources',
      '*.png',
      '--save',
      path.join(work, 'm'),
      '--json',
    ],
    env(),
  );
  expect(r.stderr).not.toMatch(/^mldb:/m);
  expect(r.code).toBe(0);
  const doc = JSON.parse(r.stdout);
  expect(doc.labels).toEqual(['1', '3', '7']);
  expect(doc.test.labels).toEqual(['1', '3', '7']);
  const show = mldb(['runs', 'show', String(doc.runId), '--json'], env());
  const { run } = JSON.parse(show.stdout);
  expect(run.hyperparameters).toMatchObject({
    optimizer: 'adamw',
    weightDecay: 0.05,
    lrSchedule: 'onecycle',
    warmupEpochs: 0.5,
    labelSmoothing: 0.1,
    classWeight: { '3': 2.5 },
    batchSampler: 'balanced',
    labels: ['1', '3', '7'],
    sources: '*.png',
  });
  const counts = run.hyperparameters.classCounts as Record<string, number>;
  expect(Object.keys(counts)).toEqual(['1', '3', '7']);
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(doc.split.train);
  const text = mldb(['runs', 'show', String(doc.runId)], env()).stdout;
  const ratio = Math.max(...Object.values(counts)) / Math.min(...Object.values(counts));
  expect(text).toContain(
    `classes (train rows): 1 ${counts['1']}, 3 ${counts['3']}, 7 ${counts['7']} · imbalance ${ratio.toFixed(1)}×`,
  );
  expect(text).toMatch(/classWeight=\{"3":2\.5\}/);
  expect(text).toMatch(/labels=1,3,7/);
  for (const setting of [
    'optimizer=adamw',
    'weightDecay=0.05',
    'lrSchedule=onecycle',
    'warmupEpochs=0.5',
    'labelSmoothing=0.1',
    'batchSampler=balanced',
    'sources=*.png',
  ])
    expect(text.split(/\s/)).toContain(setting);
});

test('evaluate reads the same subsets: --labels, --exclude-labels, --sources; a bad one names its flag', () => {
  const model = path.join(work, 'all');
  expect(mldb([...TRAIN, '--save', model], env()).code).toBe(0);
  const evaluate = (...flags: string[]) => mldb(['evaluate', '--model', model, '--json', ...flags], env());
  const all = JSON.parse(evaluate().stdout);
  const some = JSON.parse(evaluate('--labels', '1,3').stdout);
  const without = JSON.parse(evaluate('--exclude-labels', '1,3').stdout);
  expect(some.count + without.count).toBe(all.count);
  expect(some.classes.filter((c: { support: number }) => c.support > 0).map((c: { label: string }) => c.label)).toEqual(
    ['1', '3'],
  );
  const sourced = JSON.parse(evaluate('--sources', '*mnist-?-000?.png', '--split', 'train').stdout);
  expect(sourced.count).toBeLessThan(100);
  expect(sourced.count).toBeGreaterThan(0);
  expect(evaluate('--sources', '').stderr).toMatch(/^mldb: --sources must not be empty/m);
});
