import { resolveConfig } from '../config';
import { MlDb } from '../mldb';
import { openStudy } from '../study/study';
import type { StudySpec } from '../study/types';
import { runWorker, type Objective } from '../study/worker';

/**
 * One worker process of `npm run bench -- study`: node study-worker.js URL SPEC_JSON. Runs the
 * trivial objective (two parameters, ten reported values, no training) until the study has
 * nothing left, then prints one JSON line: when it started and ended, when each of its trials
 * ended, and which trials it ran.
 */
export const trivialObjective =
  (calls: number[]): Objective =>
  async (trial) => {
    calls.push(trial.number);
    const x = Number(trial.params.x);
    const y = Number(trial.params.y);
    let v = 0;
    for (let step = 1; step <= 10; step++) {
      v = -((x - 0.7) ** 2) - 0.01 * (Math.log10(y) + 2) ** 2 + 0.01 * step;
      await trial.report(step, v);
      if (trial.shouldStop()) break;
    }
    return v;
  };

async function main(): Promise<void> {
  const [url, specJson] = process.argv.slice(2);
  const mldb = new MlDb({ config: resolveConfig({ url }, {}, process.cwd()) });
  try {
    const db = await mldb.connection();
    const study = await openStudy(db, JSON.parse(specJson) as StudySpec);
    const calls: number[] = [];
    const ends: number[] = [];
    const start = Date.now();
    const summary = await runWorker(db, study, trivialObjective(calls), {
      onTrial: (e) => void (e.kind === 'end' && ends.push(Date.now())),
    });
    console.log(JSON.stringify({ start, end: Date.now(), ends, calls, summary }));
  } finally {
    await mldb.close();
  }
}

if (require.main === module)
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
