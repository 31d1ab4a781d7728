import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { freshDatabase } from '../helpers/db';
import { mldb } from '../helpers/cli';
import { sampleDigitsFolder, tempDir } from '../helpers/fixtures';

const db = freshDatabase();
afterAll(() => db.cleanup());
const env = () => ({ MLDB_URL: db.url });
const work = tempDir();

beforeAll(() => {
  // A tiny table: 200 of the sample digits.
  const dir = sampleDigitsFolder(20, path.join(work, 'tiny'));
  expect(mldb(['import', dir, '--create', '--table', 'tiny', '--test-fraction', '0.2'], env()).code).toBe(0);
});

describe('experiments, run records and reports from the command line', () => {
  const plan = path.join(work, 'plan.yaml');
  fs.writeFileSync(
    plan,
    [
      'name: two-lrs',
      'table: tiny',
      'backend: wasm',
      `save: ${path.join(work, 'models')}`,
      'grid:',
      '  model: [lenet5]',
      '  learningRate: [0.001, 0.01]',
      '  epochs: 2',
      '  batchSize: 16',
      '',
    ].join('\n'),
  );
  let runIds: number[] = [];

  test('a two-combination plan trains and records both, and prints a leaderboard as JSON', () => {
    const r = mldb(['experiment', plan, '--json'], env(), work);
    expect(r.stderr).not.toMatch(/^mldb:/m);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      name: 'two-lrs',
      table: 'tiny',
      trained: 2,
      skipped: 0,
      failed: 0,
      belowThreshold: false,
    });
    expect(doc.leaderboard).toHaveLength(2);
    expect(doc.leaderboard.map((e: { learningRate: number }) => e.learningRate).sort()).toEqual([0.001, 0.01]);
    // Ranked and chosen on validation, never on test: the test score is reported, not used.
    expect(doc.selectedBy).toBe('val_accuracy');
    expect(doc.leaderboard[0].value).toBeGreaterThanOrEqual(doc.leaderboard[1].value);
    expect(doc.best).toMatchObject({ trial: doc.leaderboard[0].trial, runId: doc.leaderboard[0].runId });
    expect(doc.gatedOn).toBe('test');
    expect(mldb(['experiment', plan], env(), work).stdout).toMatch(
      /test accuracy is shown for every trial but not used/,
    );
    runIds = doc.leaderboard.map((e: { runId: number }) => e.runId);

    const runs = JSON.parse(mldb(['runs', '--json', '--experiment', 'two-lrs'], env()).stdout);
    expect(runs.runs).toHaveLength(2);
    for (const run of runs.runs) {
      expect(run).toMatchObject({
        experiment: 'two-lrs',
        dataset: 'tiny',
        architecture: 'lenet5',
        status: 'completed',
        epochsDone: 2,
        backend: 'wasm',
      });
      expect(run.hyperparameters).toMatchObject({ epochs: 2, batchSize: 16, optimizer: 'adam' });
      expect(run.fingerprint.rows).toBe(run.split.train + run.split.validation);
      expect(fs.existsSync(path.join(run.modelDir, 'model.json'))).toBe(true);
    }
    const shown = JSON.parse(mldb(['runs', 'show', String(runIds[0]), '--json'], env()).stdout);
    expect(shown.run.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2]);
    const compared = JSON.parse(mldb(['runs', 'compare', ...runIds.map(String), '--json'], env()).stdout);
    expect(compared.differing).toEqual(['learningRate']);
    expect(mldb(['runs', 'compare', ...runIds.map(String)], env()).stdout).toMatch(/differing settings: learningRate/);
  });

  test('running the plan again skips both combinations; --dry-run trains nothing', () => {
    const again = mldb(['experiment', plan, '--json'], env(), work);
    expect(again.code).toBe(0);
    const doc = JSON.parse(again.stdout);
    expect(doc).toMatchObject({ trained: 0, skipped: 2 });
    expect(doc.leaderboard.map((e: { runId: number }) => e.runId).sort()).toEqual([...runIds].sort());
    expect(JSON.parse(mldb(['runs', '--json'], env()).stdout).runs).toHaveLength(2);
    expect(mldb(['experiment', plan, '--dry-run'], env(), work).stderr).toMatch(/trial 1 .*: completed \(run \d+\)/);
  });

  test('the median pruner stops a plainly worse trial: recorded pruned with its epochs, never selected', () => {
    const pruned = path.join(work, 'pruned.yaml');
    fs.writeFileSync(
      pruned,
      [
        'name: pruned',
        'table: tiny',
        'backend: wasm',
        `save: ${path.join(work, 'pruned-models')}`,
        'pruner: median',
        'startupTrials: 2',
        'objective: val_loss',
        'grid:',
        '  model: [lenet5]',
        '  learningRate: [0.003, 0.000001]',
        '  seed: [1, 2]',
        '  epochs: 3',
        '  batchSize: 16',
        '',
      ].join('\n'),
    );
    const r = mldb(['experiment', pruned, '--json'], env(), work);
    expect(r.stderr).not.toMatch(/^mldb:/m);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ selectedBy: 'val_loss', pruned: 2, failed: 0, study: { pruner: 'median' } });
    const slow = doc.leaderboard.filter((e: { learningRate: number }) => e.learningRate === 0.000001);
    for (const e of slow) expect(e).toMatchObject({ outcome: 'pruned', epochsDone: 1 });
    expect(doc.best.learningRate).toBe(0.003);
    expect(doc.leaderboard[0].value).toBeLessThanOrEqual(doc.leaderboard[1].value);
    // A pruned trial's run stops after the epoch: recorded pruned with that epoch, no test pass,
    // no model written to a folder or kept in the database.
    const slowRuns = slow.map((e: { runId: number }) => e.runId).sort();
    const listed = JSON.parse(mldb(['runs', '--status', 'pruned', '--json'], env()).stdout).runs;
    expect(listed.map((x: { id: number }) => x.id).sort()).toEqual(slowRuns);
    for (const id of slowRuns) {
      const { run } = JSON.parse(mldb(['runs', 'show', String(id), '--json'], env()).stdout);
      expect(run).toMatchObject({ status: 'pruned', epochsDone: 1, test: null, modelDir: null });
      expect(run.epochs).toHaveLength(1);
      expect(run.error).toMatch(/pruned/);
    }
    const stored = JSON.parse(mldb(['models', '--json'], env()).stdout).stored as Array<{ runId: number }>;
    expect(stored.filter((m) => slowRuns.includes(m.runId))).toEqual([]);
    expect(fs.readdirSync(path.join(work, 'pruned-models')).filter((d) => d.includes('0.000001'))).toEqual([]);
    expect(fs.readdirSync(path.join(work, 'pruned-models'))).toHaveLength(2);
  });

  test('a random search over a log range: the seed draws the same trials; run again, it trains nothing', () => {
    const searched = path.join(work, 'searched.yaml');
    const lines = (name: string) =>
      [
        `name: ${name}`,
        'table: tiny',
        'backend: wasm',
        `save: ${path.join(work, name)}`,
        'sampler: random',
        'trials: 2',
        'seed: 5',
        'grid:',
        '  model: [lenet5]',
        '  learningRate: {log: [0.0001, 0.01]}',
        '  epochs: 1',
        '  batchSize: {int: [8, 32]}',
        '',
      ].join('\n');
    fs.writeFileSync(searched, lines('searched'));
    const r = mldb(['experiment', searched, '--json'], env(), work);
    expect(r.stderr).not.toMatch(/^mldb:/m);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ trained: 2, study: { sampler: 'random', trials: 2 } });
    for (const e of doc.leaderboard) {
      expect(e.learningRate).toBeGreaterThanOrEqual(0.0001);
      expect(e.learningRate).toBeLessThanOrEqual(0.01);
      expect(Number.isInteger(e.batchSize) && e.batchSize >= 8 && e.batchSize <= 32).toBe(true);
    }
    const drawn = (d: { leaderboard: Array<{ trial: number; learningRate: number; batchSize: number }> }) =>
      d.leaderboard.map((e) => [e.trial, e.learningRate, e.batchSize]).sort((a, b) => a[0] - b[0]);
    expect(JSON.parse(mldb(['experiment', searched, '--json'], env(), work).stdout)).toMatchObject({
      trained: 0,
      skipped: 2,
    });
    // The same plan under another name is another study: the seed draws the same parameters.
    const twin = path.join(work, 'twin.yaml');
    fs.writeFileSync(twin, lines('twin'));
    expect(drawn(JSON.parse(mldb(['experiment', twin, '--dry-run', '--json'], env(), work).stdout))).toEqual([]);
    const again = JSON.parse(mldb(['experiment', twin, '--json'], env(), work).stdout);
    expect(drawn(again)).toEqual(drawn(doc));
  });

  test('--min-accuracy above what is reached exits 7, after recording the run', () => {
    const r = mldb(
      [
        'train',
        '--table',
        'tiny',
        '--model',
        'lenet5',
        '--epochs',
        '1',
        '--backend',
        'wasm',
        '--save',
        path.join(work, 'gate'),
        '--min-accuracy',
        '1',
        '--json',
      ],
      env(),
    );
    expect(r.code).toBe(7);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ belowThreshold: true, minAccuracy: 1 });
    expect(r.stderr).toMatch(/test accuracy [\d.]+ is below --min-accuracy 1 /);
    const run = JSON.parse(mldb(['runs', 'show', String(doc.runId), '--json'], env()).stdout).run;
    expect(run.status).toBe('completed');
    expect(mldb(['experiment', plan, '--min-accuracy', '1'], env(), work).code).toBe(7);
    expect(mldb(['experiment', plan, '--min-accuracy', '1.01'], env(), work).code).toBe(2);
    expect(mldb(['experiment', plan, '--min-accuracy', '0'], env(), work).code).toBe(0);
  });

  test('report: readable PNGs of the documented sizes and an index.html that shows them', async () => {
    const out = path.join(work, 'report');
    const r = mldb(['report', String(runIds[0]), '--out', out, '--json'], env());
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.images.map((i: { file: string }) => i.file)).toEqual([
      'loss.png',
      'accuracy.png',
      'confusion.png',
      'mistakes.png',
    ]);
    const sizes: Record<string, [number, number]> = {
      'loss.png': [800, 500],
      'accuracy.png': [800, 500],
      'confusion.png': [800, 800],
    };
    for (const img of doc.images) {
      const meta = await sharp(path.join(out, img.file)).metadata();
      expect(meta.format).toBe('png');
      expect([meta.width, meta.height]).toEqual([img.width, img.height]);
      if (sizes[img.file]) expect([meta.width, meta.height]).toEqual(sizes[img.file]);
      // Not blank: a chart has ink on it.
      const stats = await sharp(path.join(out, img.file)).stats();
      expect(stats.channels[0].min).toBeLessThan(100);
    }
    expect((await sharp(path.join(out, 'mistakes.png')).metadata()).width).toBe(800);
    const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    for (const f of ['loss.png', 'accuracy.png', 'confusion.png', 'mistakes.png']) expect(html).toContain(`src="${f}"`);
    expect(html).toContain(`Run ${runIds[0]}`);
  });

  test('bad input: a missing plan, a plan with an unknown key, an unknown run', () => {
    const bad = path.join(work, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ table: 'tiny', grid: { model: ['lenet5'], momentum: [0.9] } }));
    const noTable = path.join(work, 'no-table.json');
    fs.writeFileSync(noTable, JSON.stringify({ table: 'absent', grid: { model: 'lenet5' } }));
    const cases: Array<[string[], number, RegExp]> = [
      [['experiment', path.join(work, 'nope.yaml')], 4, /no plan file/],
      [['experiment', noTable], 4, /absent/],
      [['experiment', bad], 5, /unknown grid key "momentum"/],
      [['runs', 'show', '999999'], 4, /no run 999999/],
      [['runs', 'show', 'abc'], 2, /invalid run id/],
      [['runs', '--status', 'done'], 2, /argument 'done' is invalid. Allowed choices are running, completed/],
      [['report', '999999'], 4, /no run 999999/],
      // Checked before anything is drawn; /proc would make Node's recursive mkdir spin.
      [['report', String(runIds[0]), '--out', '/proc/mldb-report'], 2, /report folder .* pseudo-file-system/],
      [['report', String(runIds[0]), '--out', path.join(plan, 'x')], 2, /plan.yaml is a file, not a folder/],
    ];
    for (const [args, code, message] of cases) {
      const r = mldb(args, env(), work);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
