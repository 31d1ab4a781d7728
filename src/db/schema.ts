import { escapeId } from './identifiers';

/** The registry of datasets: one row per dataset table, with the shape every image is stored at. */
export const REGISTRY_TABLE = 'mldb_datasets';

export const CREATE_REGISTRY = `CREATE TABLE IF NOT EXISTS ${escapeId(REGISTRY_TABLE)} (
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

export const SPLITS = ['train', 'validation', 'test'] as const;
export type Split = (typeof SPLITS)[number];
