import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, stopServer } from '../local-servers/local-server';

/** A server for one benchmark run: MLDB_BENCH_URL when set, else a throwaway local one. */
export async function benchServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.MLDB_BENCH_URL) return { url: process.env.MLDB_BENCH_URL, stop: async () => undefined };
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldb-bench-db-'));
  const server = await startServer({ dataDir });
  return {
    url: `mysql://root@127.0.0.1:${server.port}/mldb_bench`,
    stop: async () => {
      await stopServer(server.pid);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** ../shared/filedata beside the repository: the benchmark's dataset. */
export function filedataDir(): string {
  const dir = process.env.MLDB_BENCH_DATA ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'filedata');
  if (!fs.existsSync(dir))
    throw new Error(`benchmark data not found at ${dir}: set MLDB_BENCH_DATA to a folder of DIR/<label>/<images>`);
  return dir;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
