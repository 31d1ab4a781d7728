import fs from 'node:fs';
import { startCluster, stopCluster, type RunningCluster } from '../../src/local-servers/local-cluster';
import { findServerBinary } from '../../src/local-servers/local-server';
import { queryServer } from './db';
import { tempDir } from './fixtures';

/** A real Spider head with real backends on loopback, in a temporary folder: what sharding tests run on. */
export interface TestCluster extends RunningCluster {
  /** A URL to `database` on the head. */
  url: (database: string) => string;
  /** Runs SQL on the head. */
  onHead: <T>(sql: string | string[]) => Promise<T[]>;
  /** Runs SQL on one backend (0-based) directly, bypassing the head. */
  onShard: <T>(index: number, database: string, sql: string) => Promise<T[]>;
  stop: () => Promise<void>;
}

export async function startTestCluster(shards = 2): Promise<TestCluster> {
  const dataDir = tempDir('mldb-spider-');
  const cluster = await startCluster({ binary: findServerBinary(), dataDir, shards });
  return {
    ...cluster,
    url: (database) => `mysql://root@127.0.0.1:${cluster.head.port}/${database}`,
    onHead: <T>(sql: string | string[]) => queryServer<T>(cluster.head.port, sql),
    onShard: <T>(index: number, database: string, sql: string) =>
      queryServer<T>(cluster.shards[index].port, sql, database),
    stop: async () => {
      await stopCluster([cluster.head.pid, ...cluster.shards.map((s) => s.pid)]);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
