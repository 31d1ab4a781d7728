import mysql from 'mysql2/promise';
import { escapeId } from './identifiers';

/** The names a local Spider head knows its backends by: `mldb_shard_1` … `mldb_shard_N`. */
export const SHARD_SERVER_PREFIX = 'mldb_shard_';

export function shardServerName(index: number): string {
  return `${SHARD_SERVER_PREFIX}${index + 1}`;
}

export interface ServerAddress {
  host: string;
  port: number;
  user: string;
}

/** Registers each backend on the head as a Spider server (again on every start: ports change). */
export async function registerShardServers(head: ServerAddress, shards: ServerAddress[]): Promise<void> {
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
