import { escapeId } from './identifiers';
import { REGISTRY_TABLE, RUNS_TABLE } from './schema';

/**
 * The DDL of table versions (docs/curation.md): which changes a table went through, and each
 * row's superseded states. Created by a migration; a released statement never changes.
 */

export const TABLE_VERSIONS_TABLE = 'mldb_table_versions';
export const ROW_HISTORY_TABLE = 'mldb_row_history';

/** One row per change to a dataset table: an import batch, an edit, a promotion; `tag` names one. */
export const CREATE_TABLE_VERSIONS_V1 = `CREATE TABLE IF NOT EXISTS ${escapeId(TABLE_VERSIONS_TABLE)} (
  dataset VARCHAR(64) NOT NULL,
  version INT UNSIGNED NOT NULL,
  kind VARCHAR(16) NOT NULL,
  at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  by_user VARCHAR(288) NULL,
  \`rows\` INT UNSIGNED NOT NULL DEFAULT 0,
  tag VARCHAR(191) NULL,
  PRIMARY KEY (dataset, version),
  UNIQUE KEY uq_tag (dataset, tag)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

/**
 * A row's state before an edit, valid over versions [valid_from, valid_to). A removed row's last
 * state (`removed` = 1) also keeps its bytes, so that older versions still read it until a purge.
 * The key leads with the dataset and the id: an old version's read walks it in id order.
 */
export const CREATE_ROW_HISTORY_V1 = `CREATE TABLE IF NOT EXISTS ${escapeId(ROW_HISTORY_TABLE)} (
  dataset VARCHAR(64) NOT NULL,
  id BIGINT UNSIGNED NOT NULL,
  valid_from INT UNSIGNED NOT NULL,
  valid_to INT UNSIGNED NOT NULL,
  label VARCHAR(191) NOT NULL,
  split ENUM('train','validation','test') NOT NULL,
  removed TINYINT UNSIGNED NOT NULL DEFAULT 0,
  sha256 BINARY(32) NULL,
  source VARCHAR(1024) NULL,
  format VARCHAR(16) NULL,
  orig_width INT UNSIGNED NULL,
  orig_height INT UNSIGNED NULL,
  original LONGBLOB NULL,
  pixels MEDIUMBLOB NULL,
  created_at TIMESTAMP(3) NULL,
  PRIMARY KEY (dataset, id, valid_to),
  KEY ix_dataset_valid_to (dataset, valid_to)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

/** The last version number given out per dataset (0: none since versions began). */
export const ADD_DATASETS_VERSION = `ALTER TABLE ${escapeId(REGISTRY_TABLE)}
  ADD COLUMN version INT UNSIGNED NOT NULL DEFAULT 0`;

/** The table version a run read, beside rows_until and its fingerprint. */
export const ADD_RUNS_TABLE_VERSION = `ALTER TABLE ${escapeId(RUNS_TABLE)}
  ADD COLUMN table_version INT UNSIGNED NULL AFTER rows_until`;

/** The version each row's current state began at, on a dataset table (a sharded one's head and backends alike). */
export function addRowVersionSql(table: string): string {
  return `ALTER TABLE ${escapeId(table)} ADD COLUMN version INT UNSIGNED NOT NULL DEFAULT 0`;
}
