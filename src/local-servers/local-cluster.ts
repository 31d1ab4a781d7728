import path from 'node:path';
import { registerShardServers } from '../db/shard-registration';
import { startServer, stopServer, type RunningServer } from './local-server';

/**
 * A local sharded setup for development and tests: N plain backends and one MariaDB Spider head
 * that knows them as servers `mldb_shard_1` … `mldb_shard_N` (loopback, own data folders). A
 * dataset table created with `--shards` on the head is partitioned over them (db/sharding.ts).
 */

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
    await registerShardServers(head, started.slice(0, o.shards));
    return { head, shards: started.slice(0, o.shards) };
  } catch (e) {
    // Nothing half-started is left running.
    await Promise.all(started.map((s) => stopServer(s.pid)));
    throw e;
  }
}

export async function stopCluster(pids: number[]): Promise<void> {
  await Promise.all(pids.map((pid) => stopServer(pid)));
}
