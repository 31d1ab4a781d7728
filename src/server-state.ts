import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './errors';
import { processArguments } from './process-command-line';

// The state file is read by config.ts (a command with no settings uses the local server) and
// written by local-servers/: it sits below both, so the settings never depend on what starts servers.

/** What `mldb db start` leaves behind so that every other command finds its server. */
export interface ServerState {
  pid: number;
  host: string;
  port: number;
  user: string;
  binary: string;
  version: string;
  dataDir: string;
  startedAt: string;
  /** `mldb db start --shards N`: this server is a Spider head and these are its backends. */
  shards?: Omit<ServerState, 'shards' | 'startedAt'>[];
}

/** What the state file says, checked against the processes that are running now. */
export type StateReading =
  | { kind: 'none' }
  | { kind: 'running'; state: ServerState }
  /** A file naming no server of this folder: its server died (and the pid may be another's now). */
  | { kind: 'stale'; pid?: number };

const SERVER_BINARIES = new Set(['mariadbd', 'mysqld']);

export function stateDir(projectDir: string): string {
  return path.join(projectDir, '.mldb');
}

function stateFile(projectDir: string): string {
  return path.join(stateDir(projectDir), 'server.json');
}

/** Where `mldb db start` keeps a single server's data. */
export function singleDataDir(projectDir: string): string {
  return path.join(stateDir(projectDir), 'mysql-data');
}

/** Where `mldb db start --shards N` keeps the head's and the backends' data. */
export function shardedDataDir(projectDir: string): string {
  return path.join(stateDir(projectDir), 'mysql-sharded');
}

/**
 * mldb reads and writes its state only in a folder of its own: a link planted at `.mldb` or at
 * one of its files would make `db start` write, or `db stop` trust, something outside it.
 */
export function refuseLinkedState(projectDir: string): void {
  for (const p of [
    stateDir(projectDir),
    stateFile(projectDir),
    singleDataDir(projectDir),
    shardedDataDir(projectDir),
  ]) {
    let isLink = false;
    try {
      isLink = fs.lstatSync(p).isSymbolicLink();
    } catch {
      continue; // absent: nothing to refuse
    }
    if (isLink) {
      throw new UsageError(
        `${path.relative(projectDir, p)} is a symbolic link, and mldb keeps its local server's state only in ` +
          'files of its own',
        'remove the link (and start the server again with `mldb db start` if one was meant to run)',
        { reason: 'state-link', subject: p },
      );
    }
  }
}

/**
 * Whether `pid` is a MySQL or MariaDB server serving `dataDir` now: a pid alone may have been
 * reused by any process since the server died, so its command line must say so too.
 */
export function isServerOf(pid: number, dataDir: string): boolean {
  const args = processArguments(pid);
  if (!args) return false;
  return SERVER_BINARIES.has(path.basename(args[0])) && args.includes(`--datadir=${dataDir}`);
}

/** The data folders a state file of this project may name: its own, never one elsewhere. */
function ownsDataDir(state: Pick<ServerState, 'dataDir'>, expected: string): boolean {
  return path.resolve(state.dataDir) === path.resolve(expected);
}

function headIsOurs(projectDir: string, state: ServerState): boolean {
  const expected = state.shards?.length ? path.join(shardedDataDir(projectDir), 'head') : singleDataDir(projectDir);
  return ownsDataDir(state, expected) && isServerOf(state.pid, state.dataDir);
}

/** A backend of this project's sharded server, still running as itself. */
export function shardIsOurs(projectDir: string, shard: Pick<ServerState, 'pid' | 'dataDir'>, index: number): boolean {
  const expected = path.join(shardedDataDir(projectDir), `shard-${index + 1}`);
  return ownsDataDir(shard, expected) && isServerOf(shard.pid, shard.dataDir);
}

/** The state file checked: a server of this folder running, none, or a file that names none. */
export function inspectServerState(projectDir: string): StateReading {
  refuseLinkedState(projectDir);
  let text: string;
  try {
    text = fs.readFileSync(stateFile(projectDir), 'utf8');
  } catch {
    return { kind: 'none' };
  }
  let state: ServerState;
  try {
    state = JSON.parse(text) as ServerState;
  } catch {
    return { kind: 'stale' };
  }
  if (typeof state !== 'object' || state === null || typeof state.dataDir !== 'string') return { kind: 'stale' };
  const pid = Number.isSafeInteger(state.pid) ? state.pid : undefined;
  return headIsOurs(projectDir, state) ? { kind: 'running', state } : { kind: 'stale', pid };
}

/** The running local server of this project, or undefined (a stale or linked file counts as none). */
export function readServerState(projectDir: string): ServerState | undefined {
  try {
    const reading = inspectServerState(projectDir);
    return reading.kind === 'running' ? reading.state : undefined;
  } catch {
    return undefined;
  }
}

/** Written beside the old file and renamed over it: never through a link, never half written. */
export function writeServerState(projectDir: string, state: ServerState): void {
  fs.mkdirSync(stateDir(projectDir), { recursive: true });
  refuseLinkedState(projectDir);
  const temporary = `${stateFile(projectDir)}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, JSON.stringify(state, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  fs.renameSync(temporary, stateFile(projectDir));
}

export function removeServerState(projectDir: string): void {
  refuseLinkedState(projectDir);
  fs.rmSync(stateFile(projectDir), { force: true });
}
