import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Every temporary folder of the run — the tests', the CLIs' they spawn, a server's — under one
 * root that teardown removes (os.tmpdir() follows TMPDIR; the workers inherit it). Each tier's
 * setup calls this; the first one makes the root and the others keep it.
 */
export default function tempRootSetup(): void {
  if (process.env.MLDB_TEST_TMP_ROOT) return;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mldb-tests-'));
  process.env.MLDB_TEST_TMP_ROOT = root;
  process.env.TMPDIR = root;
}
