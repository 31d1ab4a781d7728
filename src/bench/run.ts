import { importBench } from './import-bench';
import { benchServer, filedataDir } from './server';

/**
 * `npm run bench [-- import|train|all]`: figures printed as ratios against a baseline measured in
 * the same run, on the same server. Never part of the test suite: machines here are noisy.
 */
async function main(): Promise<void> {
  const which = process.argv[2] ?? 'all';
  const server = await benchServer();
  try {
    if (which === 'import' || which === 'all') {
      console.log('\n== import and extraction ==');
      await importBench(server.url, filedataDir());
    }
    if (which === 'train' || which === 'all') {
      console.log('\n== training ==');
      console.log('(training benchmarks arrive with the training engine)');
    }
  } finally {
    await server.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
