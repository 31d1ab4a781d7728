import fs from 'node:fs';
import mysql from 'mysql2/promise';
import { startCluster, stopCluster, type RunningCluster } from '../../src/db/local-cluster';
import { findServerBinary } from '../../src/db/local-server';
import { tempDir } from './fixtures';

/** A real Spider head with real backends on loopback, in a temporary folder: what sharding tests run on. */
export interface TestCluster extends RunningCluster {
  /** A URL to `database` on the head. */
  url: (database: string) => string;
  /** Runs SQL on the head. */
  onHead: <T>(sql: string) => Promise<T[]>;
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
    onHead: async <T>(sql: string) => {
      const conn = await mysql.createConnection({ host: '127.0.0.1', port: cluster.head.port, user: 'root' });
      try {
        return (await conn.query(sql))[0] as T[];
      } finally {
        await conn.end();
      }
    },
    onShard: async <T>(index: number, database: string, sql: string) => {
      const s = cluster.shards[index];
      const conn = await mysql.createConnection({ host: s.host, port: s.port, user: s.user, database });
      try {
        return (await conn.query(sql))[0] as T[];
      } finally {
        await conn.end();
      }
    },
    stop: async () => {
      await stopCluster([cluster.head.pid, ...cluster.shards.map((s) => s.pid)]);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
