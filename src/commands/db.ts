import path from 'node:path';
import { describeTarget } from '../config';
import { startServer, stopServer, findServerBinary } from '../db/local-server';
import { readServerState, removeServerState, stateDir, writeServerState, type ServerState } from '../db/server-state';
import { openDb } from '../db/pool';
import type { Output } from '../ui/output';
import type { CommandContext } from './context';

export interface DbStatus {
  running: boolean;
  reachable: boolean;
  target: string;
  source: string;
  server?: ServerState;
  error?: string;
}

export async function start(ctx: CommandContext): Promise<{ started: boolean; server: ServerState }> {
  const projectDir = ctx.config().projectDir;
  const existing = readServerState(projectDir);
  if (existing) return { started: false, server: existing };
  const dataDir = path.join(stateDir(projectDir), 'mysql-data');
  const server = await startServer({ dataDir, detached: true });
  const state: ServerState = {
    pid: server.pid,
    host: server.host,
    port: server.port,
    user: server.user,
    binary: server.binary,
    version: server.version,
    dataDir,
    startedAt: new Date().toISOString(),
  };
  writeServerState(projectDir, state);
  return { started: true, server: state };
}

export function printStart(r: { started: boolean; server: ServerState }, out: Output): void {
  const s = r.server;
  out.line(
    `${r.started ? 'started' : 'already running:'} local server ${path.basename(s.binary)} (pid ${s.pid}) on ` +
      `${s.host}:${s.port}, data in ${s.dataDir}`,
  );
  out.line('mldb commands run in this folder use it without configuration; stop it with `mldb db stop`');
}

export async function stop(ctx: CommandContext): Promise<{ stopped: boolean; pid?: number }> {
  const projectDir = ctx.config().projectDir;
  const state = readServerState(projectDir);
  if (!state) {
    removeServerState(projectDir);
    return { stopped: false };
  }
  await stopServer(state.pid);
  removeServerState(projectDir);
  return { stopped: true, pid: state.pid };
}

export function printStop(r: { stopped: boolean; pid?: number }, out: Output): void {
  out.line(r.stopped ? `stopped the local server (pid ${r.pid})` : 'no local server was running');
}

export async function status(ctx: CommandContext): Promise<DbStatus> {
  const config = ctx.config();
  const server = readServerState(config.projectDir);
  const result: DbStatus = {
    running: Boolean(server),
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
  if (s.server)
    out.line(`local server: ${path.basename(s.server.binary)} pid ${s.server.pid}, data in ${s.server.dataDir}`);
  else out.line(`local server: not running${findServerBinary() ? '' : ' (no mariadbd/mysqld installed)'}`);
  if (s.error) out.line(s.error);
}

export function statusExitCode(s: DbStatus): number {
  return s.reachable ? 0 : 3;
}
