/**
 * Whether a user's grants, as the server lists them, cover what a command needs. The grants of
 * each command are doctor/command-grants.ts; a statement refused anyway is named by
 * translateDbError (pool.ts).
 */

export type Privilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'CREATE' | 'DROP' | 'ALTER' | 'INDEX';

/** A grant on the whole database (`table` undefined) or on one table of it. */
export interface Grant {
  privileges: Privilege[];
  table?: string;
}

/** What the server says this user holds: on every database, on this one, and per table of it. */
export interface HeldPrivileges {
  global: Set<string>;
  database: Set<string>;
  tables: Map<string, Set<string>>;
}

/** The grants of `needed` that `held` does not cover, in GRANT's words (`INSERT, UPDATE ON db.t`). */
export function missingGrants(needed: Grant[], held: HeldPrivileges, database: string): string[] {
  const missing: string[] = [];
  for (const grant of needed) {
    const onTable = grant.table === undefined ? undefined : held.tables.get(grant.table);
    const lacking = grant.privileges.filter((p) => !held.global.has(p) && !held.database.has(p) && !onTable?.has(p));
    if (lacking.length > 0) missing.push(`${lacking.join(', ')} ON ${database}.${grant.table ?? '*'}`);
  }
  return missing;
}
