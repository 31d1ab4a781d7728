import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { resolveConfig } from '../config';
import { listTrials } from '../db/studies';
import { MlDb } from '../mldb';
import { openStudy } from '../study/study';
import type { StudySpec } from '../study/types';

/**
 * `npm run bench -- study [SIZES] [WORKERS]`: mldb's study engine against Optuna's RDBStorage
 * (Debian's python3-optuna, never a dependency) on the same server, with the same number of worker
 * processes, sampler (TPE) and pruner (median), on a trivial objective (ten reported values, no
 * training): what a trial costs in the database. Trials per second over the whole run, database
 * time per trial (the workers' busy time over the trials: the objective itself costs nothing),
 * and the trials run twice or left stranded (both must be 0).
 */

export const WORKER = path.resolve(__dirname, 'study-worker.js');
export const OPTUNA = path.resolve(__dirname, '..', '..', 'src', 'bench', 'optuna-study.py');
export const PYTHON = '/usr/bin/python3';

interface Timing {
  start: number;
  end: number;
}

interface Figures {
  trialsPerSecond: number;
  msPerTrial: number;
  duplicates: number;
  stranded: number;
}

export function runProcess(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) =>
      code === 0 ? resolve(out.trim().split('\n').pop() ?? '') : reject(new Error(`${cmd} exited ${code}: ${err}`)),
    );
  });
}

function figures(timings: Timing[], trials: number, duplicates: number, stranded: number): Figures {
  const wall = Math.max(...timings.map((t) => t.end)) - Math.min(...timings.map((t) => t.start));
  const busy = timings.reduce((ms, t) => ms + (t.end - t.start), 0);
  return { trialsPerSecond: (trials * 1000) / wall, msPerTrial: busy / trials, duplicates, stranded };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The bench's study: two parameters, TPE and the median pruner, as Optuna's side has them. */
export const benchSpec = (name: string, trials: number): StudySpec => ({
  name,
  space: { x: { kind: 'uniform', low: 0, high: 1 }, y: { kind: 'log', low: 1e-4, high: 1e-1 } },
  sampler: 'tpe',
  trials,
  seed: 1,
  pruner: 'median',
  startupTrials: 5,
  objective: 'value',
  direction: 'maximize',
});

/** A URL Optuna's SQLAlchemy takes for the same server and database. */
export function optunaUrl(serverUrl: string, database: string): string {
  const u = new URL(withDatabase(serverUrl, database));
  return `mysql+pymysql://${u.username}${u.password ? `:${u.password}` : ''}@${u.host}${u.pathname}`;
}

async function mldbRun(serverUrl: string, trials: number, workers: number): Promise<Figures> {
  const url = withDatabase(serverUrl, `bench_study_mldb_${trials}_${workers}`);
  const spec = benchSpec(`bench-${trials}-${workers}`, trials);
  const mldb = new MlDb({ config: resolveConfig({ url }, {}, process.cwd()) });
  try {
    // The schema and the study row first, outside the timing (as Optuna's create_study).
    const study = await openStudy(await mldb.connection(), spec);
    const outs = await Promise.all(
      Array.from({ length: workers }, () => runProcess(process.execPath, [WORKER, url, JSON.stringify(spec)])),
    );
    const docs = outs.map((o) => JSON.parse(o) as Timing & { calls: number[] });
    const calls = docs.flatMap((d) => d.calls);
    const rows = await listTrials(await mldb.connection(), study.id);
    const finished = rows.filter((r) => r.state === 'completed' || r.state === 'pruned').length;
    return figures(docs, trials, calls.length - new Set(calls).size, trials - finished);
  } finally {
    await mldb.close();
  }
}

async function optunaRun(serverUrl: string, trials: number, workers: number): Promise<Figures> {
  const url = optunaUrl(serverUrl, `bench_study_optuna_${trials}_${workers}`);
  const name = `bench-${trials}-${workers}`;
  await runProcess(PYTHON, [OPTUNA, 'create', url, name]);
  const outs = await Promise.all(
    Array.from({ length: workers }, (_, i) =>
      runProcess(PYTHON, [OPTUNA, 'work', url, name, String(trials), String(i + 1)]),
    ),
  );
  const counts = JSON.parse(await runProcess(PYTHON, [OPTUNA, 'count', url, name])) as Record<string, number>;
  const finished = (counts.COMPLETE ?? 0) + (counts.PRUNED ?? 0);
  // Optuna draws a new trial per suggestion, so none is run twice; what it runs beyond N (its
  // workers each stop at N finished, checked after a trial) counts as duplicated work here.
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return figures(
    outs.map((o) => JSON.parse(o) as Timing),
    finished,
    Math.max(0, finished - trials),
    total - finished,
  );
}

export function optunaAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import optuna, pymysql'], { stdio: 'ignore' }).status === 0;
}

const fmt = (f: Figures) =>
  `${f.trialsPerSecond.toFixed(1).padStart(7)} trials/s ${f.msPerTrial.toFixed(2).padStart(8)} ms/trial ` +
  `dup ${f.duplicates} stranded ${f.stranded}`;

export async function studyBench(
  serverUrl: string,
  sizes = [1000, 10_000],
  workerCounts = [1, 2, 4],
  withOptuna = true,
): Promise<void> {
  const optuna = withOptuna && optunaAvailable();
  if (withOptuna && !optuna)
    console.log(`Optuna is not importable by ${PYTHON} (apt install python3-optuna python3-pymysql): mldb only`);
  const perTrial: Record<string, number> = {};
  for (const trials of sizes) {
    for (const workers of workerCounts) {
      const ours = await mldbRun(serverUrl, trials, workers);
      perTrial[`${trials}/${workers}`] = ours.msPerTrial;
      let line = `${String(trials).padStart(6)} trials, ${workers} worker(s): mldb   ${fmt(ours)}`;
      if (optuna) {
        const theirs = await optunaRun(serverUrl, trials, workers);
        const share = ((ours.msPerTrial / theirs.msPerTrial) * 100).toFixed(0);
        line +=
          `\n${' '.repeat(28)}optuna ${fmt(theirs)}` +
          `\n${' '.repeat(28)}mldb's database time per trial: ${share}% of Optuna's`;
      }
      console.log(line);
    }
  }
  if (sizes.length > 1) {
    const [small, large] = [sizes[0], sizes[sizes.length - 1]];
    for (const workers of workerCounts)
      console.log(
        `growth, ${workers} worker(s): ${large} trials cost ` +
          `${(perTrial[`${large}/${workers}`] / perTrial[`${small}/${workers}`]).toFixed(2)}× a trial of ${small}`,
      );
  }
}
