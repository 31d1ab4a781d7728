import { describeTarget, type MldbConfig } from '../config';
import type { MldbError } from '../errors';
import { inspectServer } from '../db/inspect';
import { SCHEMA_VERSION } from '../db/migrations';
import { missingGrants } from '../db/privileges';
import { commandGroups } from './command-grants';
import { missing, ok, warn, type Check } from './check';

export interface PrivilegeGroup {
  commands: string;
  allowed: boolean;
  /** The GRANTs it lacks, as an administrator would type them after GRANT. */
  missing: string[];
}

export interface DatabaseReport {
  checks: Check[];
  reachable: boolean;
  /** null when the server was not reached; `checked: false` when it checks no privileges at all. */
  privileges: { account: string; checked: boolean; groups: PrivilegeGroup[] } | null;
}

/** Images a row must carry are a few KB; below this a model's weight chunks get small and many. */
const SMALL_PACKET = 4 * 1024 ** 2;

/** `describe` words an unreachable server's error as the caller speaks (the CLI: flags and next commands). */
export async function databaseChecks(config: MldbConfig, describe: (e: MldbError) => string): Promise<DatabaseReport> {
  const target = `${describeTarget(config)} (from ${config.source})`;
  const inspection = await inspectServer(config);
  if (!inspection.reachable) {
    return {
      checks: [missing('database', 'database', target, describe(inspection.error))],
      reachable: false,
      privileges: null,
    };
  }
  const f = inspection.facts;
  const checks: Check[] = [ok('database', 'database', `${target}: ${f.version}`)];
  const mib = (f.maxAllowedPacket / 1024 ** 2).toFixed(f.maxAllowedPacket < 1024 ** 2 ? 2 : 0);
  checks.push(
    f.maxAllowedPacket < SMALL_PACKET
      ? warn(
          'max-allowed-packet',
          'max_allowed_packet',
          `${mib} MiB: images and model chunks must each fit one`,
          'raise it on the server (64M is typical)',
        )
      : ok('max-allowed-packet', 'max_allowed_packet', `${mib} MiB`),
  );
  checks.push(schemaCheck(config.database, f.databaseExists, f.schemaVersion));

  const groups: PrivilegeGroup[] = commandGroups(config.table).map((g) => {
    const lacking = f.privileges ? missingGrants(g.grants, f.privileges, config.database) : [];
    return { commands: g.commands, allowed: lacking.length === 0, missing: lacking };
  });
  const denied = groups.filter((g) => !g.allowed);
  checks.push(
    !f.privileges
      ? warn(
          'privileges',
          'privileges',
          'this server checks none (its grant tables are skipped): every command may run',
        )
      : denied.length === 0
        ? ok('privileges', 'privileges', `${f.account} may run every command`)
        : warn(
            'privileges',
            'privileges',
            `${f.account} may not run: ${denied.map((g) => g.commands).join('; ')}`,
            'see --json for the GRANTs each needs (docs/storage.md: Privileges)',
          ),
  );
  return { checks, reachable: true, privileges: { account: f.account, checked: !!f.privileges, groups } };
}

function schemaCheck(database: string, exists: boolean, version: number | undefined): Check {
  const name = 'schema';
  if (!exists) return ok('schema', name, `database "${database}" does not exist yet: the first command creates it`);
  if (version === undefined)
    return ok('schema', name, `no mldb tables in "${database}" yet: the first command creates them`);
  if (version > SCHEMA_VERSION)
    return missing(
      'schema',
      name,
      `version ${version}, written by a newer mldb (this one knows ${SCHEMA_VERSION})`,
      'upgrade mldb',
    );
  if (version < SCHEMA_VERSION)
    return ok('schema', name, `version ${version}: the next command upgrades it to ${SCHEMA_VERSION}`);
  return ok('schema', name, `version ${version} (up to date)`);
}
