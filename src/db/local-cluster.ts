import path from 'node:path';
import mysql from 'mysql2/promise';
import { escapeId } from './identifiers';
import { startServer, stopServer, type RunningServer } from './local-server';

/**
 * A local sharded setup for development and tests: N plain backends and one MariaDB Spider head
 * that knows them as servers `mldb_shard_1` … `mldb_shard_N` (loopback, own data folders). A
 * dataset table created with `--shards` on the head is partitioned over them (db/sharding.ts).
 */

export const SHARD_SERVER_PREFIX = 'mldb_shard_';

export interface ClusterOptions {
  binary?: string;
  /** Holds `head/` and `shard-1/` … `shard-N/`. */
  dataDir: string;
  shards: number;
  detached?: boolean;
}

export interface RunningCluster {
  head: RunningServer;
  shards: RunningServer[];
}

export function shardServerName(index: number): string {
  return `${SHARD_SERVER_PREFIX}${index + 1}`;
}

/** Starts the backends, then the head, and registers the backends on it (again: ports change). */
export async function startCluster(o: ClusterOptions): Promise<RunningCluster> {
  const started: RunningServer[] = [];
  try {
    for (let i = 0; i < o.shards; i++) {
      started.push(
        await startServer({ binary: o.binary, dataDir: path.join(o.dataDir, `shard-${i + 1}`), detached: o.detached }),
      );
    }
    const head = await startServer({
      binary: o.binary,
      dataDir: path.join(o.dataDir, 'head'),
      detached: o.detached,
      spiderHead: true,
    });
    started.push(head);
    await registerShards(head, started.slice(0, o.shards));
    return { head, shards: started.slice(0, o.shards) };
  } catch (e) {
    // Nothing half-started is left running.
    await Promise.all(started.map((s) => stopServer(s.pid)));
    throw e;
  }
}

async function registerShards(head: RunningServer, shards: RunningServer[]): Promise<void> {
  const conn = await mysql.createConnection({ host: head.host, port: head.port, user: head.user });
  try {
    for (const [i, s] of shards.entries()) {
      // The database is not named here: each Spider table says which database it lives in.
      await conn.query(
        `CREATE OR REPLACE SERVER ${escapeId(shardServerName(i))} FOREIGN DATA WRAPPER mysql ` +
          'OPTIONS (HOST ?, PORT ?, USER ?, PASSWORD ?)',
        [s.host, s.port, s.user, ''],
      );
    }
  } finally {
    await conn.end();
  }
}

export async function stopCluster(pids: number[]): Promise<void> {
  await Promise.all(pids.map((pid) => stopServer(pid)));
}
