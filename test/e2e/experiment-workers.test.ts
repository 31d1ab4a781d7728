import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from '../helpers/db';
import { mldb, mldbRunning, type RunningCli } from '../helpers/cli';
import { sampleDigitsFolder, tempDir } from '../helpers/fixtures';
import { listTrials, studiesNamed } from '../../src/db/studies';

const db = freshDatabase();
afterAll(() => db.cleanup());
const env = () => ({ MLDB_URL: db.url });
const work = tempDir();

beforeAll(() => {
  // A tiny table: 100 of the sample digits.
  const dir = sampleDigitsFolder(10, path.join(work, 'tiny'));
  expect(mldb(['import', dir, '--create', '--table', 'tiny', '--test-fraction', '0.2'], env()).code).toBe(0);
});

function writePlan(name: string, lines: string[]): string {
  const file = path.join(work, `${name}.yaml`);
  const head = [`name: ${name}`, 'table: tiny', 'backend: wasm', 'workers: 1', `save: ${path.join(work, name)}`];
  fs.writeFileSync(file, [...head, ...lines, ''].join('\n'));
  return file;
}

/** Polls until `check` holds; the deadline is generous (a loaded machine), never a measurement. */
async function until(check: () => Promise<boolean>, what: string, seconds = 300): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const finished = (w: RunningCli) => w.exited.then((code) => ({ code, stdout: w.stdout(), stderr: w.stderr() }));

async function trialsOf(name: string) {
  const conn = await db.mldb().connection();
  const [study] = await studiesNamed(conn, name);
  return study ? listTrials(conn, study.id) : [];
}

describe('experiment workers sharing the database', () => {
  test('three worker processes on a 12-trial grid run exactly 12 trials, 12 runs, none twice', async () => {
    const plan = writePlan('twelve', [
      'grid:',
      '  model: [lenet5]',
      '  learningRate: [0.001, 0.003, 0.01]',
      '  seed: [1, 2, 3, 4]',
      '  epochs: 1',
      '  batchSize: 32',
    ]);
    const workers = [0, 1, 2].map(() => mldbRunning(['experiment', plan, '--wait', '600', '--json'], env()));
    const results = await Promise.all(workers.map(finished));
    for (const r of results) {
      expect(r.stderr).not.toMatch(/^mldb:/m);
      expect(r.code).toBe(0);
    }
    const docs = results.map((r) => JSON.parse(r.stdout));
    expect(docs.reduce((n, d) => n + d.trained, 0)).toBe(12);
    const trials = await trialsOf('twelve');
    expect(trials.map((t) => [t.state, t.attempts])).toEqual(trials.map(() => ['completed', 1]));
    expect(new Set(trials.map((t) => t.runId)).size).toBe(12);
    const runs = JSON.parse(mldb(['runs', '--json', '--experiment', 'twelve', '--limit', '100'], env()).stdout).runs;
    expect(runs).toHaveLength(12);
    expect(runs.every((r: { status: string }) => r.status === 'completed')).toBe(true);
    // Every worker printed the same leaderboard: the whole study, chosen on validation.
    for (const d of docs) expect(d.leaderboard).toHaveLength(12);
    expect(new Set(docs.map((d) => d.best.trial)).size).toBe(1);

    // The finished plan run again trains nothing.
    const again = JSON.parse(mldb(['experiment', plan, '--json'], env()).stdout);
    expect(again).toMatchObject({ trained: 0, skipped: 12 });
  });

  test('a worker killed (SIGKILL) mid-trial: its trial is trained again by another and recorded once', async () => {
    const plan = writePlan('killed', [
      'grid:',
      '  model: [lenet5]',
      '  learningRate: [0.001, 0.003]',
      '  seed: [1, 2]',
      '  epochs: 3',
      '  batchSize: 16',
    ]);
    const args = ['experiment', plan, '--grace', '3', '--wait', '600', '--json'];
    const victim = mldbRunning(args, env());
    let victimTrial = -1;
    await until(async () => {
      const mine = (await trialsOf('killed')).find(
        (t) => t.state === 'running' && t.worker?.includes(`:${victim.child.pid}:`),
      );
      victimTrial = mine?.number ?? -1;
      return mine !== undefined;
    }, 'the first worker to claim a trial');
    const survivor = mldbRunning(args, env());
    victim.child.kill('SIGKILL');
    await victim.exited;
    const r = await finished(survivor);
    expect(r.stderr).not.toMatch(/^mldb:/m);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/attempt 2: its previous worker stopped heartbeating/);
    const trials = await trialsOf('killed');
    expect(trials.map((t) => t.state)).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(trials[victimTrial].attempts).toBe(2);
    expect(trials[victimTrial].worker).not.toContain(`:${victim.child.pid}:`);
    const runs = JSON.parse(mldb(['runs', '--json', '--experiment', 'killed', '--limit', '100'], env()).stdout).runs;
    const completed = runs.filter((x: { status: string }) => x.status === 'completed');
    expect(completed).toHaveLength(4);
    expect(new Set(completed.map((x: { name: string }) => x.name)).size).toBe(4);
  });
});
