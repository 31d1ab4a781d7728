import fs from 'node:fs';
import { stopServer } from '../../src/local-servers/local-server';

export default async function globalTeardown(): Promise<void> {
  const pid = Number(process.env.MLDB_TEST_SERVER_PID);
  const dir = process.env.MLDB_TEST_SERVER_DIR;
  if (pid) await stopServer(pid);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  const root = process.env.MLDB_TEST_TMP_ROOT;
  if (root) fs.rmSync(root, { recursive: true, force: true });
  // Every tier runs this teardown; what one has stopped and removed, the next must not touch.
  for (const name of ['MLDB_TEST_SERVER_PID', 'MLDB_TEST_SERVER_DIR', 'MLDB_TEST_TMP_ROOT']) delete process.env[name];
}
