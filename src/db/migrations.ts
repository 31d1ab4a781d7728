import crypto from 'node:crypto';
import { DatabaseError } from '../errors';
import { MLDB_VERSION } from '../version';
import { statementTimeoutSeconds } from './bounded-statements';
import type { Db, Queryable } from './db';
import {
  ADD_RUNS_ARCHITECTURE_INDEX,
  ADD_RUNS_EXPERIMENT_INDEX,
  CREATE_IMPORT_FINDINGS_V1,
  ADD_RUNS_PID,
  ADD_RUNS_STATUS_PRUNED,
  ADD_RUNS_ROWS_UNTIL,
  ADD_DATASETS_SHARDS,
  ADD_DATASETS_RESIZE,
  ADD_RUN_EPOCHS_LEARNING_RATE,
  CREATE_SHARD_IDS_V1,
  CREATE_REGISTRY_V1,
  CREATE_RUN_EPOCHS_V1,
  CREATE_RUNS_V1,
  CREATE_SCHEMA_TABLE,
  CREATE_MODEL_CHUNKS_V1,
  CREATE_MODELS_V1,
  CREATE_PREDICTIONS_V1,
  CREATE_STUDIES_V1,
  CREATE_TRIALS_V1,
  REGISTRY_TABLE,
  RUN_EPOCHS_TABLE,
  RUNS_TABLE,
  SCHEMA_TABLE,
  WIDEN_MODEL_LABELS,
  WIDEN_PREDICTION_TOP,
} from './schema';
import { escapeId } from './identifiers';
import { onEveryBackend } from './sharding';
import {
  ADD_DATASETS_VERSION,
  ADD_RUNS_TABLE_VERSION,
  addRowVersionSql,
  CREATE_ROW_HISTORY_V1,
  CREATE_TABLE_VERSIONS_V1,
  TABLE_VERSIONS_TABLE,
} from './version-schema';

/**
 * One forward step of the schema. `up` must be idempotent: DDL commits implicitly, so a process
 * killed between a step and its record re-runs the step on the next connect.
 */
export interface Migration {
  version: number;
  name: string;
  /** `conn` holds the migration lock; `db` reaches further (a sharded table's backends). */
  up(conn: Queryable, db: Db): Promise<void>;
}

async function columnExists(conn: Queryable, table: string, column: string): Promise<boolean> {
  const rows = await conn.query(
    `SELECT 1 FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?`,
    [table, column],
  );
  return rows.length > 0;
}

async function indexExists(conn: Queryable, table: string, index: string): Promise<boolean> {
  const rows = await conn.query(
    `SELECT 1 FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?`,
    [table, index],
  );
  return rows.length > 0;
}

/** Every migration, in order. Append only: a released step never changes. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'registry, runs and run epochs (the first released layout)',
    async up(conn) {
      await conn.run(CREATE_REGISTRY_V1);
      await conn.run(CREATE_RUNS_V1);
      await conn.run(CREATE_RUN_EPOCHS_V1);
    },
  },
  {
    version: 2,
    name: 'mldb_runs.pid: the training process, to settle runs whose process was killed',
    async up(conn) {
      if (!(await columnExists(conn, RUNS_TABLE, 'pid'))) await conn.run(ADD_RUNS_PID);
    },
  },
  {
    version: 3,
    name: 'mldb_models and mldb_model_chunks: trained models kept in the database',
    async up(conn) {
      await conn.run(CREATE_MODELS_V1);
      await conn.run(CREATE_MODEL_CHUNKS_V1);
    },
  },
  {
    version: 4,
    name: 'mldb_predictions: the prediction log (served and streamed), with corrected labels',
    async up(conn) {
      await conn.run(CREATE_PREDICTIONS_V1);
    },
  },
  {
    version: 5,
    name: 'mldb_runs.rows_until: the largest row id a run read (its row set on a growing table)',
    async up(conn) {
      if (!(await columnExists(conn, RUNS_TABLE, 'rows_until'))) await conn.run(ADD_RUNS_ROWS_UNTIL);
    },
  },
  {
    version: 6,
    name: 'mldb_datasets.shards and mldb_shard_ids: dataset tables sharded over servers by a Spider head',
    async up(conn) {
      if (!(await columnExists(conn, REGISTRY_TABLE, 'shards'))) await conn.run(ADD_DATASETS_SHARDS);
      await conn.run(CREATE_SHARD_IDS_V1);
    },
  },
  {
    version: 7,
    name: 'mldb_run_epochs.learning_rate: the learning rate of each epoch (reduce-on-plateau)',
    async up(conn) {
      if (!(await columnExists(conn, RUN_EPOCHS_TABLE, 'learning_rate'))) await conn.run(ADD_RUN_EPOCHS_LEARNING_RATE);
    },
  },
  {
    version: 8,
    name: 'mldb_models.labels and mldb_predictions.top as MEDIUMTEXT: many or long labels fit',
    async up(conn) {
      // MODIFY to the same type is a no-op: a re-run after a kill is harmless.
      await conn.run(WIDEN_MODEL_LABELS);
      await conn.run(WIDEN_PREDICTION_TOP);
    },
  },
  {
    version: 9,
    name: 'mldb_import_findings (what imports found); runs indexed by experiment and by architecture',
    async up(conn) {
      await conn.run(CREATE_IMPORT_FINDINGS_V1);
      if (!(await indexExists(conn, RUNS_TABLE, 'ix_experiment'))) await conn.run(ADD_RUNS_EXPERIMENT_INDEX);
      if (!(await indexExists(conn, RUNS_TABLE, 'ix_architecture'))) await conn.run(ADD_RUNS_ARCHITECTURE_INDEX);
    },
  },
  {
    version: 10,
    name: 'mldb_datasets.resize: how images of another aspect ratio take the shape (stretch, crop, pad)',
    async up(conn) {
      if (!(await columnExists(conn, REGISTRY_TABLE, 'resize'))) await conn.run(ADD_DATASETS_RESIZE);
    },
  },
  {
    version: 11,
    name: 'mldb_studies and mldb_trials: experiment plans run by any number of workers sharing the database',
    async up(conn) {
      await conn.run(CREATE_STUDIES_V1);
      await conn.run(CREATE_TRIALS_V1);
    },
  },
  {
    version: 12,
    name: 'mldb_runs.status pruned: a study trial stopped by its pruner, with its epochs and no model',
    async up(conn) {
      await conn.run(ADD_RUNS_STATUS_PRUNED);
    },
  },
  {
    version: 13,
    name: 'table versions: mldb_table_versions, mldb_row_history, a version per dataset row and per run',
    async up(conn) {
      await conn.run(CREATE_TABLE_VERSIONS_V1);
      await conn.run(CREATE_ROW_HISTORY_V1);
      if (!(await columnExists(conn, REGISTRY_TABLE, 'version'))) await conn.run(ADD_DATASETS_VERSION);
      if (!(await columnExists(conn, RUNS_TABLE, 'table_version'))) await conn.run(ADD_RUNS_TABLE_VERSION);
      // Sharded tables keep their layout: their rows live on the backends (docs/curation.md).
      const tables = await conn.query<{ name: string }>(
        `SELECT r.name FROM ${escapeId(REGISTRY_TABLE)} r JOIN information_schema.TABLES t
           ON t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME = r.name WHERE r.shards IS NULL`,
      );
      for (const { name } of tables) {
        if (!(await columnExists(conn, name, 'version'))) await conn.run(addRowVersionSql(name));
        // Version 0: the rows the table held when versions began.
        await conn.run(
          `INSERT IGNORE INTO ${escapeId(TABLE_VERSIONS_TABLE)} (dataset, version, kind, \`rows\`)
           SELECT ?, 0, 'baseline', COUNT(*) FROM ${escapeId(name)}`,
          [name],
        );
      }
    },
  },
  {
    version: 14,
    name: 'versions of sharded tables: a version column on every backend and on the head, and their baseline',
    async up(conn, db) {
      const tables = await conn.query<{ name: string }>(
        `SELECT r.name FROM ${escapeId(REGISTRY_TABLE)} r JOIN information_schema.TABLES t
           ON t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME = r.name WHERE r.shards IS NOT NULL`,
      );
      for (const { name } of tables) {
        // The backends first: the head's definition only names columns the backends must have.
        await onEveryBackend(db, name, async (backend) => {
          if (!(await columnExists(backend, name, 'version'))) await backend.run(addRowVersionSql(name));
        });
        if (!(await columnExists(conn, name, 'version'))) await conn.run(addRowVersionSql(name));
        await conn.run(
          `INSERT IGNORE INTO ${escapeId(TABLE_VERSIONS_TABLE)} (dataset, version, kind, \`rows\`)
           SELECT ?, 0, 'baseline', COUNT(*) FROM ${escapeId(name)}`,
          [name],
        );
      }
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/**
 * Seconds a process waits for another one that is migrating the same database: a minute, and
 * less than a statement may wait (statementTimeoutSeconds), so the wait ends with the lock's own
 * message rather than as a server that did not answer.
 */
function lockSeconds(db: Db): number {
  return Math.min(60, statementTimeoutSeconds(db.backendTimeoutSeconds) - 1);
}

/** The recorded version, 0 when the database has never been migrated (new, or older than versioning). */
export async function schemaVersion(conn: Queryable): Promise<number> {
  try {
    const [row] = await conn.query<{ v: number | null }>(`SELECT MAX(version) AS v FROM ${escapeId(SCHEMA_TABLE)}`);
    return Number(row?.v ?? 0);
  } catch (e) {
    if ((e as { cause?: { code?: string } }).cause?.code === 'ER_NO_SUCH_TABLE') return 0;
    throw e;
  }
}

function refuseNewer(db: Db, version: number): never {
  throw new DatabaseError(
    `database "${db.config.database}" has schema version ${version}, newer than this mldb ` +
      `${MLDB_VERSION} knows (${SCHEMA_VERSION}); nothing was changed`,
    'upgrade mldb to the version that wrote it, or use another database',
    { reason: 'schema-newer', subject: db.config.database },
  );
}

/** GET_LOCK names are server-wide and at most 64 characters: one per database, hashed. */
function lockName(database: string): string {
  return `mldb_schema_${crypto.createHash('sha1').update(database).digest('hex')}`;
}

/**
 * Brings the database's schema to SCHEMA_VERSION. An up-to-date database costs one SELECT and
 * needs no DDL privilege. Otherwise the pending steps run in order on one connection holding a
 * server-side lock, so two processes starting together apply each step once; the second one
 * re-reads the version after the lock and finds nothing left to do. A database written by a
 * newer mldb is refused before anything changes.
 */
export async function migrate(db: Db): Promise<{ from: number; to: number; applied: string[] }> {
  const current = await schemaVersion(db);
  if (current > SCHEMA_VERSION) refuseNewer(db, current);
  if (current === SCHEMA_VERSION) return { from: current, to: current, applied: [] };
  try {
    return await upgrade(db);
  } catch (e) {
    // A read-only user meets a database mldb has not set up (or upgraded) yet: say who can.
    if ((e as { reason?: string }).reason !== 'privilege-missing') throw e;
    throw new DatabaseError(
      current === 0
        ? `database "${db.config.database}" has no mldb tables yet and ${db.config.user} may not create them ` +
            `(no ${(e as { subject?: string }).subject} privilege)`
        : `database "${db.config.database}" needs a schema upgrade (version ${current} → ${SCHEMA_VERSION}) that ` +
            `${db.config.user} may not make (no ${(e as { subject?: string }).subject} privilege)`,
      'run any mldb command once as a user with CREATE, ALTER, INDEX, INSERT on it (its owner), then try again',
      { cause: e, reason: 'schema-upgrade-denied', subject: db.config.database },
    );
  }
}

async function upgrade(db: Db): Promise<{ from: number; to: number; applied: string[] }> {
  return db.session(async (conn) => {
    const wait = lockSeconds(db);
    const [lock] = await conn.query<{ ok: number | null }>('SELECT GET_LOCK(?, ?) AS ok', [
      lockName(db.config.database),
      wait,
    ]);
    if (Number(lock?.ok) !== 1) {
      throw new DatabaseError(
        `another process has been upgrading the schema of database "${db.config.database}" for ${wait} s`,
        'wait for it to finish, then run again',
        { reason: 'schema-locked', subject: db.config.database },
      );
    }
    try {
      await conn.run(CREATE_SCHEMA_TABLE);
      const from = await schemaVersion(conn);
      if (from > SCHEMA_VERSION) refuseNewer(db, from);
      const applied: string[] = [];
      for (const m of MIGRATIONS.filter((x) => x.version > from)) {
        await m.up(conn, db);
        await conn.run(`INSERT INTO ${escapeId(SCHEMA_TABLE)} (version, name, mldb_version) VALUES (?, ?, ?)`, [
          m.version,
          m.name,
          MLDB_VERSION,
        ]);
        applied.push(m.name);
      }
      return { from, to: SCHEMA_VERSION, applied };
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [lockName(db.config.database)]).catch(() => undefined);
    }
  });
}
