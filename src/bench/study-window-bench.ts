import { resolveConfig } from '../config';
import { addFinishedTrials, listTrials, type FinishedTrial } from '../db/studies';
import { MlDb } from '../mldb';
import { trialRandom } from '../study/samplers';
import { openStudy } from '../study/study';
import { median } from './server';
import { benchSpec, OPTUNA, optunaAvailable, optunaUrl, PYTHON, runProcess, withDatabase, WORKER } from './study-bench';

/**
 * `npm run bench -- study SIZES WORKERS --window W`: what a trial costs once a study already holds
 * SIZE finished trials. Running Optuna to 10,000 trials takes an hour or more here, so each study
 * is first filled in bulk with SIZE completed trials of the same objective (ten intermediate
 * values each): mldb's through addFinishedTrials, Optuna's through its own storage models in
 * batches (optuna-study.py populate). Then K worker processes run W more trials, TPE and the
 * median pruner on both sides, each study in a database of its own.
 *
 * The figures are the steady state: each worker's time from its first trial's end to its last's,
 * over the trials between, so that neither a process's start nor its first read of the study (for
 * Optuna, the whole study into its cache) is counted; that first trial is reported apart.
 */

interface WorkerDoc {
  /** When the worker started working (its study opened), and when each of its trials ended. */
  start: number;
  ends: number[];
  calls?: number[];
}

interface WindowFigures {
  /** The workers' busy time per trial in the steady state. */
  msPerTrial: number;
  /** Trials ended per second while every worker was past its first trial (NaN: too few to tell). */
  trialsPerSecond: number;
  /** From a worker's start to its first trial's end (the median over workers). */
  firstTrialMs: number;
  duplicates: number;
  stranded: number;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function windowFigures(docs: WorkerDoc[], duplicates: number, stranded: number): WindowFigures {
  const active = docs.filter((d) => d.ends.length > 1);
  const busy = sum(active.map((d) => d.ends[d.ends.length - 1] - d.ends[0]));
  const from = Math.max(...active.map((d) => d.ends[0]));
  const to = Math.min(...active.map((d) => d.ends[d.ends.length - 1]));
  const within = sum(active.map((d) => d.ends.filter((t) => t > from && t <= to).length));
  return {
    msPerTrial: busy / sum(active.map((d) => d.ends.length - 1)),
    trialsPerSecond: within >= 2 * docs.length ? (within * 1000) / (to - from) : NaN,
    firstTrialMs: median(docs.filter((d) => d.ends.length > 0).map((d) => d.ends[0] - d.start)),
    duplicates,
    stranded,
  };
}

/** Trial `number` of the bench's objective, finished: the draw and the values a worker would report. */
function finishedTrial(seed: number, number: number): FinishedTrial {
  const random = trialRandom(seed, number);
  const x = random();
  const y = Math.exp(Math.log(1e-4) + random() * (Math.log(1e-1) - Math.log(1e-4)));
  const steps: Array<[number, number]> = [];
  for (let step = 1; step <= 10; step++)
    steps.push([step, -((x - 0.7) ** 2) - 0.01 * (Math.log10(y) + 2) ** 2 + 0.01 * step]);
  return {
    state: 'completed',
    params: JSON.stringify({ x: Number(x.toPrecision(6)), y: Number(y.toPrecision(6)) }),
    value: steps[9][1],
    steps: JSON.stringify(steps),
  };
}

async function mldbAt(serverUrl: string, size: number, workers: number, window: number): Promise<WindowFigures> {
  const url = withDatabase(serverUrl, `bench_study_mldb_at_${size}_${workers}`);
  const spec = benchSpec(`bench-at-${size}-${workers}`, size + window);
  const mldb = new MlDb({ config: resolveConfig({ url }, {}, process.cwd()) });
  try {
    const db = await mldb.connection();
    const study = await openStudy(db, spec);
    await addFinishedTrials(
      db,
      study.id,
      Array.from({ length: size }, (_, n) => finishedTrial(spec.seed + 1, n)),
    );
    const outs = await Promise.all(
      Array.from({ length: workers }, () => runProcess(process.execPath, [WORKER, url, JSON.stringify(spec)])),
    );
    const docs = outs.map((o) => JSON.parse(o) as WorkerDoc & { calls: number[] });
    const calls = docs.flatMap((d) => d.calls);
    const finished = (await listTrials(db, study.id)).filter((r) => r.state === 'completed' || r.state === 'pruned');
    return windowFigures(docs, calls.length - new Set(calls).size, size + window - finished.length);
  } finally {
    await mldb.close();
  }
}

async function optunaAt(serverUrl: string, size: number, workers: number, window: number): Promise<WindowFigures> {
  const url = optunaUrl(serverUrl, `bench_study_optuna_at_${size}_${workers}`);
  const name = `bench-at-${size}-${workers}`;
  await runProcess(PYTHON, [OPTUNA, 'create', url, name]);
  await runProcess(PYTHON, [OPTUNA, 'populate', url, name, String(size), '2']);
  const outs = await Promise.all(
    Array.from({ length: workers }, (_, i) =>
      runProcess(PYTHON, [OPTUNA, 'work', url, name, String(size + window), String(i + 1)]),
    ),
  );
  const counts = JSON.parse(await runProcess(PYTHON, [OPTUNA, 'count', url, name])) as Record<string, number>;
  const finished = (counts.COMPLETE ?? 0) + (counts.PRUNED ?? 0);
  const total = sum(Object.values(counts));
  // As in the whole-run mode: what Optuna's workers run beyond the target counts as duplicated work.
  return windowFigures(
    outs.map((o) => JSON.parse(o) as WorkerDoc),
    Math.max(0, finished - size - window),
    total - finished,
  );
}

const fmt = (f: WindowFigures) =>
  `${(Number.isNaN(f.trialsPerSecond) ? '–' : f.trialsPerSecond.toFixed(1)).padStart(7)} trials/s ` +
  `${f.msPerTrial.toFixed(2).padStart(8)} ms/trial  first trial ${(f.firstTrialMs / 1000).toFixed(1)} s  ` +
  `dup ${f.duplicates} stranded ${f.stranded}`;

export async function studyWindowBench(
  serverUrl: string,
  sizes: number[],
  workerCounts: number[],
  window: number,
  withOptuna: boolean,
): Promise<void> {
  const optuna = withOptuna && optunaAvailable();
  if (withOptuna && !optuna)
    console.log(`Optuna is not importable by ${PYTHON} (apt install python3-optuna python3-pymysql): mldb only`);
  console.log(
    `each study filled in bulk to SIZE completed trials (ten values each), then ${window} more run by K workers; ` +
      'steady state: from each worker’s first trial’s end to its last',
  );
  const perTrial: Record<string, number> = {};
  for (const size of sizes) {
    for (const workers of workerCounts) {
      const ours = await mldbAt(serverUrl, size, workers, window);
      perTrial[`mldb ${size}/${workers}`] = ours.msPerTrial;
      let line = `at ${String(size).padStart(6)} trials, ${workers} worker(s): mldb   ${fmt(ours)}`;
      if (optuna) {
        const theirs = await optunaAt(serverUrl, size, workers, window);
        perTrial[`optuna ${size}/${workers}`] = theirs.msPerTrial;
        const share = ((ours.msPerTrial / theirs.msPerTrial) * 100).toFixed(1);
        const pad = ' '.repeat(31);
        line += `\n${pad}optuna ${fmt(theirs)}\n${pad}mldb's time per trial: ${share}% of Optuna's`;
      }
      console.log(line);
    }
  }
  if (sizes.length < 2) return;
  const [small, large] = [sizes[0], sizes[sizes.length - 1]];
  for (const who of optuna ? ['mldb', 'optuna'] : ['mldb'])
    for (const workers of workerCounts)
      console.log(
        `growth, ${who}, ${workers} worker(s): a trial at ${large} costs ` +
          `${(perTrial[`${who} ${large}/${workers}`] / perTrial[`${who} ${small}/${workers}`]).toFixed(2)}× ` +
          `one at ${small}`,
      );
}
