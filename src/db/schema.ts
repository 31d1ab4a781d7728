import { escapeId } from './identifiers';

/**
 * The DDL of every table mldb owns, in one place. Tables are created and changed only by
 * migrations (migrations.ts) and, for dataset tables, by `createDatasetTable` (dataset-tables.ts).
 * A statement here never changes once released: a later layout is a new migration.
 */

export const SCHEMA_TABLE = 'mldb_schema';
export const REGISTRY_TABLE = 'mldb_datasets';
export const RUNS_TABLE = 'mldb_runs';
export const RUN_EPOCHS_TABLE = 'mldb_run_epochs';
export const MODELS_TABLE = 'mldb_models';
export const MODEL_CHUNKS_TABLE = 'mldb_model_chunks';
export const PREDICTIONS_TABLE = 'mldb_predictions';
export const IMPORT_FINDINGS_TABLE = 'mldb_import_findings';
export const STUDIES_TABLE = 'mldb_studies';
export const TRIALS_TABLE = 'mldb_trials';

export { SPLITS, type Split } from './enums';

/**
 * The longest name mldb keeps (experiment, run and model names, labels: VARCHAR(191), the longest
 * utf8mb4 column InnoDB indexes whole), in characters. Anything that routes or checks a name sizes to it.
 */
export const MAX_NAME_LENGTH = 191;

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

/** Migration 7: the learning rate each epoch trained with (reduce-on-plateau changes it). */
export const ADD_RUN_EPOCHS_LEARNING_RATE = `ALTER TABLE ${escapeId(RUN_EPOCHS_TABLE)}
  ADD COLUMN learning_rate DOUBLE NULL AFTER samples_per_second`;

/**
 * Migration 8: room for what import allows. A model's labels (any number, each up to 191
 * characters) and a prediction's top list (up to --top 1000 of them) outgrow TEXT's 64 KB.
 */
export const WIDEN_MODEL_LABELS = `ALTER TABLE ${escapeId(MODELS_TABLE)} MODIFY labels MEDIUMTEXT NOT NULL`;
export const WIDEN_PREDICTION_TOP = `ALTER TABLE ${escapeId(PREDICTIONS_TABLE)} MODIFY top MEDIUMTEXT NULL`;

/**
 * Migration 9: what imports found and did not store — an image under two labels (a conflict) or
 * the same file twice (a duplicate) — so that the dashboard can show them after the import's output
 * is gone. `finding_sha256` (of the dataset, kind and both sources) makes a re-import add nothing.
 */
export const CREATE_IMPORT_FINDINGS_V1 = `CREATE TABLE IF NOT EXISTS ${escapeId(IMPORT_FINDINGS_TABLE)} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  dataset VARCHAR(64) NOT NULL,
  kind ENUM('conflict','duplicate') NOT NULL,
  source VARCHAR(1024) NOT NULL,
  label VARCHAR(191) NOT NULL,
  kept_source VARCHAR(1024) NOT NULL,
  kept_label VARCHAR(191) NOT NULL,
  finding_sha256 BINARY(32) NOT NULL,
  found_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_finding (finding_sha256),
  KEY ix_dataset_kind (dataset, kind, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

/** Migration 9: the dashboard filters runs by experiment and architecture. */
export const ADD_RUNS_EXPERIMENT_INDEX = `ALTER TABLE ${escapeId(RUNS_TABLE)} ADD INDEX ix_experiment (experiment, id)`;
export const ADD_RUNS_ARCHITECTURE_INDEX = `ALTER TABLE ${escapeId(RUNS_TABLE)}
  ADD INDEX ix_architecture (architecture, id)`;

/**
 * Migration 12: a study's pruner stops a trial's run after an epoch; it is recorded `pruned`, with
 * its epochs and no test pass or model. MODIFY to the same ENUM again is a no-op (a re-run is harmless).
 */
export const ADD_RUNS_STATUS_PRUNED = `ALTER TABLE ${escapeId(RUNS_TABLE)}
  MODIFY status ENUM('running','completed','failed','interrupted','pruned') NOT NULL`;

/** Migration 2: the training process's id, so that a killed run can be settled as interrupted. */
export const ADD_RUNS_PID = `ALTER TABLE ${escapeId(RUNS_TABLE)} ADD COLUMN pid INT UNSIGNED NULL AFTER host`;

/**
 * Migration 5: the largest row id a run read. A table that keeps growing (import --watch) still
 * gives every run a fixed row set: ids up to this, which `train --rows-until run:ID` reproduces.
 */
export const ADD_RUNS_ROWS_UNTIL = `ALTER TABLE ${escapeId(RUNS_TABLE)}
  ADD COLUMN rows_until BIGINT UNSIGNED NULL AFTER fingerprint_sha256`;

/** Migration 6: how many shards a dataset table is spread over (NULL: one server, not sharded). */
export const ADD_DATASETS_SHARDS = `ALTER TABLE ${escapeId(REGISTRY_TABLE)}
  ADD COLUMN shards SMALLINT UNSIGNED NULL AFTER validation_fraction`;

/**
 * Migration 10: how images of another aspect ratio take the table's shape (image-shape.ts's
 * RESIZE_MODES); tables from before it stretch, as every import did then.
 */
export const ADD_DATASETS_RESIZE = `ALTER TABLE ${escapeId(REGISTRY_TABLE)}
  ADD COLUMN resize ENUM('stretch', 'crop', 'pad') NOT NULL DEFAULT 'stretch' AFTER channels`;

export const SHARD_IDS_TABLE = 'mldb_shard_ids';

/**
 * Migration 6 too: the last row id given out per sharded table. Imports write each batch straight
 * to the backends that hold its rows, with ids reserved here in blocks, so ids stay unique over
 * all shards without the head's counter (see db/shard-writes.ts).
 */
export const CREATE_SHARD_IDS_V1 = `CREATE TABLE IF NOT EXISTS ${escapeId(SHARD_IDS_TABLE)} (
  table_name VARCHAR(64) NOT NULL PRIMARY KEY,
  last_id BIGINT UNSIGNED NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

/**
 * Migration 3: trained models kept in the database, so that any machine that reaches it can
 * serve or evaluate them. A name has versions (each store adds one); weights live in
 * mldb_model_chunks, split under max_allowed_packet, and are checked against `weights_sha256`.
 */
export const CREATE_MODELS_V1 = `CREATE TABLE IF NOT EXISTS ${escapeId(MODELS_TABLE)} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(191) NOT NULL,
  version INT UNSIGNED NOT NULL,
  run_id BIGINT UNSIGNED NULL,
  architecture VARCHAR(64) NOT NULL,
  dataset VARCHAR(64) NULL,
  labels TEXT NOT NULL,
  input_shape VARCHAR(32) NOT NULL,
  test_accuracy DOUBLE NULL,
  model_json MEDIUMTEXT NOT NULL,
  metadata MEDIUMTEXT NOT NULL,
  weights_bytes BIGINT UNSIGNED NOT NULL,
  weights_sha256 CHAR(64) NOT NULL,
  chunks INT UNSIGNED NOT NULL,
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_name_version (name, version),
  KEY ix_run (run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

/** Migration 3: a stored model's weights, in order. */
export const CREATE_MODEL_CHUNKS_V1 = `CREATE TABLE IF NOT EXISTS ${escapeId(MODEL_CHUNKS_TABLE)} (
  model_id BIGINT UNSIGNED NOT NULL,
  seq INT UNSIGNED NOT NULL,
  bytes LONGBLOB NOT NULL,
  PRIMARY KEY (model_id, seq)
) ENGINE=InnoDB`;

/**
 * Migration 4: every served or streamed prediction. The id is a UUIDv7 made by the server process,
 * so a response can name its log row before the (batched, asynchronous) INSERT runs, and rows
 * still arrive in time order. `true_label` is the feedback loop: a corrected request, promotable
 * into a dataset table when its input was logged.
 */
export const CREATE_PREDICTIONS_V1 = `CREATE TABLE IF NOT EXISTS ${escapeId(PREDICTIONS_TABLE)} (
  id CHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  created_at TIMESTAMP(3) NOT NULL,
  source VARCHAR(16) NOT NULL,
  model VARCHAR(255) NOT NULL,
  model_id BIGINT UNSIGNED NULL,
  run_id BIGINT UNSIGNED NULL,
  client VARCHAR(64) NULL,
  file_name VARCHAR(255) NULL,
  input_sha256 BINARY(32) NULL,
  input_bytes INT UNSIGNED NOT NULL,
  input_format VARCHAR(16) NULL,
  input LONGBLOB NULL,
  label VARCHAR(191) NULL,
  confidence DOUBLE NULL,
  top TEXT NULL,
  latency_ms DOUBLE NOT NULL,
  status ENUM('ok','error') NOT NULL,
  error VARCHAR(255) NULL,
  true_label VARCHAR(191) NULL,
  labeled_at TIMESTAMP(3) NULL,
  promoted_to VARCHAR(64) NULL,
  promoted_at TIMESTAMP(3) NULL,
  KEY ix_created (created_at),
  KEY ix_model_created (model, created_at),
  KEY ix_true_label (true_label)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

/**
 * One table per dataset. `original` keeps the file's exact bytes (lossless export); `pixels`
 * keeps the decoded uint8 H×W×C image at the dataset's shape (training never decodes again).
 * Labels compare byte-wise (utf8mb4_bin) so that "A" and "a", or two Unicode forms, stay apart.
 * `version` is the table version the row's current state began at (docs/curation.md).
 */
export function createDatasetTableSql(table: string): string {
  return `CREATE TABLE ${escapeId(table)} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ${DATASET_COLUMNS},
  version INT UNSIGNED NOT NULL DEFAULT 0,
  UNIQUE KEY uq_sha256 (sha256),
  KEY ix_label (label),
  KEY ix_split_label (split, label)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;
}

const DATASET_COLUMNS = `label VARCHAR(191) NOT NULL,
  split ENUM('train','validation','test') NOT NULL,
  sha256 BINARY(32) NOT NULL,
  source VARCHAR(1024) NOT NULL,
  format VARCHAR(16) NOT NULL,
  orig_width INT UNSIGNED NOT NULL,
  orig_height INT UNSIGNED NOT NULL,
  original LONGBLOB NOT NULL,
  pixels MEDIUMBLOB NOT NULL,
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)`;

/**
 * A sharded dataset table: the same columns plus `shard`, a number from the content hash (its
 * first two bytes) that the head partitions by. Every unique key must hold the partitioning
 * column, and as `shard` is a function of `sha256`, UNIQUE(sha256, shard) is still one row per
 * image over all shards. `engine` is InnoDB on a backend; on the head, the Spider clause.
 * `version` is the table version the row's current state began at, as on one server.
 */
export function createShardedTableSql(table: string, engine: string): string {
  return `CREATE TABLE ${escapeId(table)} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  shard SMALLINT UNSIGNED NOT NULL,
  ${DATASET_COLUMNS},
  version INT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (id, shard),
  UNIQUE KEY uq_sha256 (sha256, shard),
  KEY ix_label (label),
  KEY ix_split_label (split, label)
) ${engine}`;
}

/**
 * Migration 11: a study (an experiment plan's search: its space, sampler, pruner and the metric
 * that chooses) shared by every worker that runs it, on any machine. `study_key` is the plan's
 * identity, so the same plan started anywhere finds the same study; `next_number` hands out trial
 * numbers to samplers that suggest one trial at a time (random, tpe) under the row's lock.
 */
export const CREATE_STUDIES_V1 = `CREATE TABLE IF NOT EXISTS ${escapeId(STUDIES_TABLE)} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  study_key CHAR(64) CHARACTER SET ascii NOT NULL,
  name VARCHAR(191) NOT NULL,
  sampler VARCHAR(16) NOT NULL,
  pruner VARCHAR(16) NOT NULL,
  objective VARCHAR(32) NOT NULL,
  direction ENUM('maximize', 'minimize') NOT NULL,
  trials INT UNSIGNED NOT NULL,
  next_number INT UNSIGNED NOT NULL DEFAULT 0,
  spec MEDIUMTEXT NOT NULL,
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_study_key (study_key),
  KEY ix_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

/**
 * Migration 11 too: one row per trial of a study, its life one state machine (waiting → running →
 * completed | pruned | failed). A worker claims a row under `FOR UPDATE SKIP LOCKED` and keeps
 * `heartbeat_at` fresh with the server's clock; a running row whose heartbeat is older than the
 * claimer's grace period goes back to the queue. `steps` holds the intermediate values reported
 * (a JSON array of [step, value]): what the pruners compare, read for a bounded number of trials.
 */
export const CREATE_TRIALS_V1 = `CREATE TABLE IF NOT EXISTS ${escapeId(TRIALS_TABLE)} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  study_id BIGINT UNSIGNED NOT NULL,
  number INT UNSIGNED NOT NULL,
  state ENUM('waiting', 'running', 'completed', 'pruned', 'failed') NOT NULL,
  params MEDIUMTEXT NULL,
  worker VARCHAR(191) NULL,
  attempts INT UNSIGNED NOT NULL DEFAULT 0,
  heartbeat_at TIMESTAMP(3) NULL,
  started_at TIMESTAMP(3) NULL,
  finished_at TIMESTAMP(3) NULL,
  value DOUBLE NULL,
  steps MEDIUMTEXT NULL,
  run_id BIGINT UNSIGNED NULL,
  error VARCHAR(1024) NULL,
  UNIQUE KEY uq_study_number (study_id, number),
  KEY ix_study_state (study_id, state, number)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;
