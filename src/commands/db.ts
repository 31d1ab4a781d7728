import path from 'node:path';
import { describeTarget } from '../config';
import { startServer, stopServer, findServerBinary, type RunningServer } from '../local-servers/local-server';
import { shardServerName } from '../db/shard-registration';
import { startCluster } from '../local-servers/local-cluster';
import { UsageError } from '../errors';
import { parsePositiveInt } from './options';
import {
  inspectServerState,
  isServerOf,
  removeServerState,
  shardedDataDir,
  shardIsOurs,
  singleDataDir,
  writeServerState,
  type ServerState,
} from '../server-state';
import { withStateLock } from '../local-servers/state-lock';
import { openDb } from '../db/pool';
import type { Output } from '../ui/output';
import type { CommandContext } from './context';

export interface DbStatus {
  running: boolean;
  reachable: boolean;
  target: string;
  source: string;
  server?: ServerState;
  /** `.mldb/server.json` names a process that is not this folder's server (it died; the pid may be reused). */
  stalePid?: number;
  /** Per shard of a sharded server: whether that backend still runs as itself. */
  shardsRunning?: boolean[];
  error?: string;
}

export async function start(
  ctx: CommandContext,
  flags: { shards?: string } = {},
): Promise<{ started: boolean; server: ServerState }> {
  const projectDir = ctx.config().projectDir;
  const shards = flags.shards === undefined ? 0 : parsePositiveInt('--shards', flags.shards, { max: 16 })!;
  return withStateLock(projectDir, async () => {
    const reading = inspectServerState(projectDir);
    if (reading.kind === 'running') {
      const existing = reading.state;
      if ((existing.shards?.length ?? 0) !== shards) {
        throw new UsageError(
          `a local server with ${existing.shards?.length ?? 'no'} shards is already running`,
          'stop it first with `mldb db stop`',
        );
      }
      return { started: false, server: existing };
    }
    const state = shards > 0 ? await startSharded(projectDir, shards) : await startSingle(projectDir);
    writeServerState(projectDir, state);
    return { started: true, server: state };
  });
}

function described(s: RunningServer, dataDir: string): Omit<ServerState, 'startedAt' | 'shards'> {
  return {
    pid: s.pid,
    host: s.host,
    port: s.port,
    user: s.user,
    binary: s.binary,
    version: s.version,
    dataDir,
  };
}

async function startSingle(projectDir: string): Promise<ServerState> {
  const dataDir = singleDataDir(projectDir);
  const server = await startServer({ dataDir, detached: true });
  return { ...described(server, dataDir), startedAt: new Date().toISOString() };
}

/** A Spider head and its backends, in their own folder so a single server's data stays apart. */
async function startSharded(projectDir: string, shards: number): Promise<ServerState> {
  const dataDir = shardedDataDir(projectDir);
  const cluster = await startCluster({ dataDir, shards, detached: true });
  return {
    ...described(cluster.head, path.join(dataDir, 'head')),
    startedAt: new Date().toISOString(),
    shards: cluster.shards.map((s, i) => described(s, path.join(dataDir, `shard-${i + 1}`))),
  };
}

export function printStart(r: { started: boolean; server: ServerState }, out: Output): void {
  const s = r.server;
  out.line(
    `${r.started ? 'started' : 'already running:'} local server ${path.basename(s.binary)} (pid ${s.pid}) on ` +
      `${s.host}:${s.port}, data in ${s.dataDir}`,
  );
  if (s.shards?.length) {
    out.line(`it is a MariaDB Spider head over ${s.shards.length} shard servers:`);
    for (const [i, shard] of s.shards.entries())
      out.line(`  ${shardServerName(i)}: pid ${shard.pid} on ${shard.host}:${shard.port}`);
    out.line('`mldb create-table T --shards all` makes a table sharded over them');
  }
  out.line('mldb commands run in this folder use it without configuration; stop it with `mldb db stop`');
}

export interface StopResult {
  stopped: boolean;
  pid?: number;
  /** The state file named this pid, which is no server of this folder now: nothing was signalled. */
  stalePid?: number;
}

export async function stop(ctx: CommandContext): Promise<StopResult> {
  const projectDir = ctx.config().projectDir;
  return withStateLock(projectDir, async () => {
    const reading = inspectServerState(projectDir);
    if (reading.kind !== 'running') {
      removeServerState(projectDir);
      return { stopped: false, stalePid: reading.kind === 'stale' ? reading.pid : undefined };
    }
    const state = reading.state;
    // The head first: it holds connections to the backends. Each is signalled only while its pid
    // is still that server's.
    await stopServer(state.pid, () => isServerOf(state.pid, state.dataDir));
    await Promise.all(
      (state.shards ?? []).map((shard, i) => stopServer(shard.pid, () => shardIsOurs(projectDir, shard, i))),
    );
    removeServerState(projectDir);
    return { stopped: true, pid: state.pid };
  });
}

export function printStop(r: StopResult, out: Output): void {
  if (r.stopped) out.line(`stopped the local server (pid ${r.pid})`);
  else if (r.stalePid !== undefined)
    out.line(
      `no local server was running: .mldb/server.json named pid ${r.stalePid}, which is not this folder's ` +
        'server (it left that process alone and removed the file)',
    );
  else out.line('no local server was running');
}

export async function status(ctx: CommandContext): Promise<DbStatus> {
  const config = ctx.config();
  const reading = inspectServerState(config.projectDir);
  const server = reading.kind === 'running' ? reading.state : undefined;
  const result: DbStatus = {
    running: Boolean(server),
    stalePid: reading.kind === 'stale' ? reading.pid : undefined,
    shardsRunning: server?.shards?.map((shard, i) => shardIsOurs(config.projectDir, shard, i)),
    reachable: false,
    target: describeTarget(config),
    source: config.source,
    server,
  };
  try {
    const db = await openDb(config);
    await db.close();
    result.reachable = true;
  } catch (e) {
    result.error = (e as { line?: string }).line ?? String(e);
  }
  return result;
}

export function printStatus(s: DbStatus, out: Output): void {
  out.line(`database ${s.target} (from ${s.source}): ${s.reachable ? 'reachable' : 'NOT reachable'}`);
  if (s.server) {
    const sharded = s.server.shards?.length ? ` (Spider head of ${s.server.shards.length} shards)` : '';
    out.line(
      `local server${sharded}: ${path.basename(s.server.binary)} pid ${s.server.pid} on ${s.server.host}:` +
        `${s.server.port}, data in ${s.server.dataDir}`,
    );
    for (const [i, shard] of (s.server.shards ?? []).entries()) {
      out.line(
        `  shard ${i + 1} (${shardServerName(i)}): pid ${shard.pid} on ${shard.host}:${shard.port}` +
          `${s.shardsRunning?.[i] ? '' : ' — NOT running'}`,
      );
    }
  } else if (s.stalePid !== undefined) {
    out.line(
      `local server: not running (.mldb/server.json names pid ${s.stalePid}, which is not this folder's server; ` +
        '`mldb db start` starts one)',
    );
  } else out.line(`local server: not running${findServerBinary() ? '' : ' (no mariadbd/mysqld installed)'}`);
  if (s.error) out.line(s.error);
}

export function statusExitCode(s: DbStatus): number {
  return s.reachable ? 0 : 3;
}
