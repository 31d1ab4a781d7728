import { escapeId } from './identifiers';

/**
 * The DDL of every table mldb owns, in one place. Tables are created and changed only by
 * migrations (migrations.ts) and, for dataset tables, by `createDatasetTable` (dataset-rows.ts).
 * A statement here never changes once released: a later layout is a new migration.
 */

export const SCHEMA_TABLE = 'mldb_schema';
export const REGISTRY_TABLE = 'mldb_datasets';
export const RUNS_TABLE = 'mldb_runs';
export const RUN_EPOCHS_TABLE = 'mldb_run_epochs';

export { SPLITS, type Split } from './enums';

/** Which migrations have run: one row each, in order. */
export const CREATE_SCHEMA_TABLE = `CREATE TABLE IF NOT EXISTS ${escapeId(SCHEMA_TABLE)} (
  version INT UNSIGNED NOT NULL PRIMARY KEY,
  name VARCHAR(191) NOT NULL,
  mldb_version VARCHAR(32) NOT NULL,
  applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

/** The registry of datasets: one row per dataset table, with the shape every image is stored at. */
export const CREATE_REGISTRY_V1 = `CREATE TABLE IF NOT EXISTS ${escapeId(REGISTRY_TABLE)} (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  height INT UNSIGNED NULL,
  width INT UNSIGNED NULL,
  channels TINYINT UNSIGNED NULL,
  test_fraction DOUBLE NOT NULL DEFAULT 0.1,
  validation_fraction DOUBLE NOT NULL DEFAULT 0,
  notes TEXT NULL,
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

/** Every training run, one row each (the first released layout: no `pid`, see migration 2). */
export const CREATE_RUNS_V1 = `CREATE TABLE IF NOT EXISTS ${escapeId(RUNS_TABLE)} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(191) NULL,
  experiment VARCHAR(191) NULL,
  plan_key CHAR(64) NULL,
  dataset VARCHAR(64) NOT NULL,
  architecture VARCHAR(64) NOT NULL,
  status ENUM('running','completed','failed','interrupted') NOT NULL,
  hyperparameters TEXT NOT NULL,
  seed INT UNSIGNED NOT NULL,
  backend VARCHAR(16) NULL,
  mldb_version VARCHAR(32) NOT NULL,
  tfjs_version VARCHAR(32) NOT NULL,
  host VARCHAR(255) NOT NULL,
  fingerprint_rows INT UNSIGNED NULL,
  fingerprint_sha256 CHAR(64) NULL,
  split_train INT UNSIGNED NULL,
  split_validation INT UNSIGNED NULL,
  split_test INT UNSIGNED NULL,
  epochs_done INT UNSIGNED NOT NULL DEFAULT 0,
  final_loss DOUBLE NULL,
  final_accuracy DOUBLE NULL,
  final_val_loss DOUBLE NULL,
  final_val_accuracy DOUBLE NULL,
  test_loss DOUBLE NULL,
  test_accuracy DOUBLE NULL,
  test_details MEDIUMTEXT NULL,
  model_dir VARCHAR(1024) NULL,
  error TEXT NULL,
  started_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  ended_at TIMESTAMP(3) NULL,
  KEY ix_dataset (dataset),
  KEY ix_status (status),
  KEY ix_plan_key (plan_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

/** A run's epochs. */
export const CREATE_RUN_EPOCHS_V1 = `CREATE TABLE IF NOT EXISTS ${escapeId(RUN_EPOCHS_TABLE)} (
  run_id BIGINT UNSIGNED NOT NULL,
  epoch INT UNSIGNED NOT NULL,
  loss DOUBLE NOT NULL,
  accuracy DOUBLE NOT NULL,
  val_loss DOUBLE NULL,
  val_accuracy DOUBLE NULL,
  seconds DOUBLE NOT NULL,
  samples_per_second DOUBLE NOT NULL,
  PRIMARY KEY (run_id, epoch)
) ENGINE=InnoDB`;

/** Migration 2: the training process's id, so that a killed run can be settled as interrupted. */
export const ADD_RUNS_PID = `ALTER TABLE ${escapeId(RUNS_TABLE)} ADD COLUMN pid INT UNSIGNED NULL AFTER host`;

/**
 * One table per dataset. `original` keeps the file's exact bytes (lossless export); `pixels`
 * keeps the decoded uint8 H×W×C image at the dataset's shape (training never decodes again).
 * Labels compare byte-wise (utf8mb4_bin) so that "A" and "a", or two Unicode forms, stay apart.
 */
export function createDatasetTableSql(table: string): string {
  return `CREATE TABLE ${escapeId(table)} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  label VARCHAR(191) NOT NULL,
  split ENUM('train','validation','test') NOT NULL,
  sha256 BINARY(32) NOT NULL,
  source VARCHAR(1024) NOT NULL,
  format VARCHAR(16) NOT NULL,
  orig_width INT UNSIGNED NOT NULL,
  orig_height INT UNSIGNED NOT NULL,
  original LONGBLOB NOT NULL,
  pixels MEDIUMBLOB NOT NULL,
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_sha256 (sha256),
  KEY ix_label (label),
  KEY ix_split_label (split, label)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;
}
