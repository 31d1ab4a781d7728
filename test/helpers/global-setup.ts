import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tempRootSetup from './temp-root-setup';
import { findServerBinary, INSTALL_HINT, startServer } from '../../src/local-servers/local-server';

/**
 * Every database test talks to a real server: MLDB_TEST_URL when set, otherwise a throwaway
 * mariadbd/mysqld started here on a free loopback port with a temporary data directory. When
 * neither is possible the suite fails loudly; it never skips the database tests.
 */
export default async function globalSetup(): Promise<void> {
  tempRootSetup();
  // One server for every tier that needs one: the first tier's setup starts it.
  if (process.env.MLDB_TEST_URL) return;
  const binary = findServerBinary();
  if (!binary) {
    throw new Error(
      `mldb tests need a MySQL-compatible server: set MLDB_TEST_URL=mysql://user:password@host:port/db, or ${INSTALL_HINT}`,
    );
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldb-test-db-'));
  // A small max_allowed_packet lets the "image larger than the server accepts" test stay small.
  const server = await startServer({ binary, dataDir, maxAllowedPacket: '4M' });
  process.env.MLDB_TEST_URL = `mysql://root@127.0.0.1:${server.port}/mldb_test`;
  process.env.MLDB_TEST_SERVER_PID = String(server.pid);
  process.env.MLDB_TEST_SERVER_DIR = dataDir;
  (globalThis as Record<string, unknown>).__MLDB_SERVER__ = server;
}
