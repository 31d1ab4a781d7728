import type { Grant } from '../db/privileges';

/**
 * The grants each group of commands needs: the Privileges table of docs/storage.md, as data, so that
 * `mldb doctor` can say which commands this user may run before one fails.
 */
export interface CommandGroup {
  /** The commands, as that table names them. */
  commands: string;
  grants: Grant[];
}

const READ: Grant = { privileges: ['SELECT'] };

/** `table` is the configured dataset table: the one import, create-table and drop-table would touch. */
export function commandGroups(table: string): CommandGroup[] {
  return [
    {
      commands: 'first use of a database, and after an mldb upgrade',
      grants: [{ privileges: ['CREATE', 'ALTER', 'INDEX', 'SELECT', 'INSERT', 'UPDATE'] }],
    },
    {
      commands: 'tables, show, rows, export, runs, models list/pull, evaluate, predict, report, versions, diff',
      grants: [READ],
    },
    {
      commands: 'serve, predict --watch',
      grants: [READ, { privileges: ['INSERT', 'UPDATE'], table: 'mldb_predictions' }],
    },
    {
      commands: `import into ${table}`,
      grants: [
        READ,
        { privileges: ['INSERT', 'UPDATE'], table },
        { privileges: ['UPDATE'], table: 'mldb_datasets' },
        { privileges: ['INSERT'], table: 'mldb_import_findings' },
        { privileges: ['INSERT'], table: 'mldb_table_versions' },
      ],
    },
    {
      commands: `create-table ${table}, import --create`,
      grants: [
        READ,
        { privileges: ['CREATE', 'INSERT', 'UPDATE'], table },
        { privileges: ['INSERT', 'UPDATE'], table: 'mldb_datasets' },
        { privileges: ['INSERT'], table: 'mldb_import_findings' },
        { privileges: ['INSERT'], table: 'mldb_table_versions' },
      ],
    },
    {
      commands: `drop-table ${table}`,
      grants: [
        { privileges: ['DROP'], table },
        { privileges: ['DELETE'], table: 'mldb_datasets' },
        { privileges: ['DELETE'], table: 'mldb_table_versions' },
        { privileges: ['DELETE'], table: 'mldb_row_history' },
      ],
    },
    {
      commands: `relabel, rm-rows, move-split on ${table}`,
      grants: [
        READ,
        { privileges: ['UPDATE', 'DELETE'], table },
        { privileges: ['UPDATE'], table: 'mldb_datasets' },
        { privileges: ['INSERT'], table: 'mldb_table_versions' },
        { privileges: ['INSERT'], table: 'mldb_row_history' },
      ],
    },
    {
      commands: 'tag, purge',
      grants: [
        READ,
        { privileges: ['UPDATE', 'DELETE'], table: 'mldb_table_versions' },
        { privileges: ['DELETE'], table: 'mldb_row_history' },
      ],
    },
    {
      commands: 'train, experiment (storing the model)',
      grants: [
        READ,
        { privileges: ['INSERT', 'UPDATE'], table: 'mldb_runs' },
        { privileges: ['INSERT', 'UPDATE'], table: 'mldb_run_epochs' },
        { privileges: ['INSERT'], table: 'mldb_models' },
        { privileges: ['INSERT'], table: 'mldb_model_chunks' },
      ],
    },
    {
      commands: 'experiment (its study, shared by every worker)',
      grants: [
        { privileges: ['INSERT', 'UPDATE'], table: 'mldb_studies' },
        { privileges: ['INSERT', 'UPDATE'], table: 'mldb_trials' },
      ],
    },
    {
      commands: 'models rm',
      grants: [
        { privileges: ['DELETE'], table: 'mldb_models' },
        { privileges: ['DELETE'], table: 'mldb_model_chunks' },
      ],
    },
    {
      commands: `predictions promote into ${table}`,
      grants: [
        READ,
        { privileges: ['INSERT', 'UPDATE'], table },
        { privileges: ['UPDATE'], table: 'mldb_predictions' },
        { privileges: ['INSERT'], table: 'mldb_import_findings' },
        { privileges: ['INSERT'], table: 'mldb_table_versions' },
      ],
    },
  ];
}
