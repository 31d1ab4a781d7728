import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findServerBinary, INSTALL_HINT, startServer } from '../../src/db/local-server';

/**
 * Every database test talks to a real server: MLDB_TEST_URL when set, otherwise a throwaway
 * mariadbd/mysqld started here on a free loopback port with a temporary data directory. When
 * neither is possible the suite fails loudly; it never skips the database tests.
 */
export default async function globalSetup(): Promise<void> {
  // Every temporary folder of the run — the tests', the CLIs' they spawn, the server's — under one
  // root that teardown removes (os.tmpdir() follows TMPDIR; the workers inherit it).
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mldb-tests-'));
  process.env.MLDB_TEST_TMP_ROOT = root;
  process.env.TMPDIR = root;
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
