import type { MldbConfig } from '../config';
import type { MldbError } from '../errors';
import { INSTALL_COMMAND, type Check, type Purpose } from './check';
import { databaseChecks, type DatabaseReport } from './database';
import { engineChecks } from './engines';
import {
  chromiumCheck,
  clangFormatCheck,
  diskCheck,
  fontsCheck,
  nodeCheck,
  serverBinaryCheck,
  spiderCheck,
} from './machine';

export interface DoctorReport {
  purpose: Purpose;
  /** Whether everything `purpose` needs is here. */
  ready: boolean;
  /** The ids of the checks that stop `purpose`, each with its fix in `checks`. */
  blocking: string[];
  checks: Check[];
  privileges: DatabaseReport['privileges'];
}

/**
 * What each purpose cannot do without. The main job is the configured database; the demo starts a
 * server of its own when none answers; the tests start their own servers (plain and Spider), drive
 * Chromium, render reports, hold mldb's oneDNN addon to tfjs and check its C++ with clang-format.
 * MLDB_TEST_URL points the tests at a server instead of a binary.
 */
function blockingChecks(purpose: Purpose, byId: Map<string, Check>, env: NodeJS.ProcessEnv): string[] {
  const absent = (id: string) => byId.get(id)?.status === 'missing';
  const needs: Record<Purpose, string[]> = {
    main: ['node', 'database', 'schema'],
    demo: ['node', ...(absent('database') ? ['server-binary'] : ['schema'])],
    tests: [
      'node',
      ...(env.MLDB_TEST_URL ? [] : ['server-binary']),
      'spider',
      'chromium',
      'fonts',
      'onednn',
      'clang-format',
    ],
  };
  return needs[purpose].filter(absent);
}

export interface DoctorOptions {
  config: MldbConfig;
  purpose: Purpose;
  env?: NodeJS.ProcessEnv;
  /** How an error reads in a check: the command passes the CLI's wording, which doctor/ does not own. */
  describe: (e: MldbError) => string;
}

export async function diagnose({ config, purpose, env = process.env, describe }: DoctorOptions): Promise<DoctorReport> {
  const server = serverBinaryCheck(env);
  // The tests start servers of their own: what MLDB_URL says does not matter to them.
  const database: DatabaseReport =
    purpose === 'tests' ? { checks: [], reachable: false, privileges: null } : await databaseChecks(config, describe);
  const checks = [
    nodeCheck(),
    server.check,
    spiderCheck(server.binary),
    ...database.checks,
    ...(await engineChecks()),
    chromiumCheck(env),
    fontsCheck(env),
    clangFormatCheck(env),
    diskCheck(config.projectDir),
  ];
  const byId = new Map(checks.map((c) => [c.id, c]));
  const blocking = blockingChecks(purpose, byId, env);
  if (purpose === 'tests')
    for (const id of blocking) byId.get(id)!.fix = `${byId.get(id)!.fix}, or everything: ${INSTALL_COMMAND}`;
  return { purpose, ready: blocking.length === 0, blocking, checks, privileges: database.privileges };
}
