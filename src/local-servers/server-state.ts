import fs from 'node:fs';
import path from 'node:path';
import { isAlive } from '../process-alive';

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

export function stateDir(projectDir: string): string {
  return path.join(projectDir, '.mldb');
}

function stateFile(projectDir: string): string {
  return path.join(stateDir(projectDir), 'server.json');
}

/** The running local server of this project, or undefined (a stale file counts as none). */
export function readServerState(projectDir: string): ServerState | undefined {
  try {
    const state = JSON.parse(fs.readFileSync(stateFile(projectDir), 'utf8')) as ServerState;
    return isAlive(state.pid) ? state : undefined;
  } catch {
    return undefined;
  }
}

export function writeServerState(projectDir: string, state: ServerState): void {
  fs.mkdirSync(stateDir(projectDir), { recursive: true });
  fs.writeFileSync(stateFile(projectDir), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
}

export function removeServerState(projectDir: string): void {
  fs.rmSync(stateFile(projectDir), { force: true });
}
