import { DEFAULT_SPLIT_FRACTIONS } from './enums';
import { InvalidDataError, NotFoundError, UsageError } from '../errors';
import { RESIZE_MODES, type ImageShape, type ResizeMode } from '../image-shape';
import type { Db } from './db';
import { createDatasetTable, datasetTableExists, dropDatasetTable } from './dataset-tables';
import { labelSplitCounts, quickTableStats, tableStats } from './table-stats';
import { compareLabels } from '../labels';
import { escapeId, validateTableName } from './identifiers';
import { chooseShardServers, createShardedTable, dropShardedTable, rowsPerShard } from './sharding';
import { forgetShardIds, startShardIds } from './shard-writes';
import { REGISTRY_TABLE, type Split } from './schema';
import { forgetVersions, startVersions } from './table-versions';

/** A dataset as the registry (mldb_datasets) knows it. The shape is unset until given or the first import. */
export interface Dataset {
  name: string;
  /** The shape every image is stored at; null until all of it is known (given, or the first import). */
  shape: ImageShape | null;
  /** While `shape` is null: the parts given at creation (e.g. only `channels`); the first image gives the rest. */
  shapeParts: Partial<ImageShape>;
  /** How images of another aspect ratio take the shape (also in `shape`, when not the default stretch). */
  resize: ResizeMode;
  testFraction: number;
  validationFraction: number;
  /** Shards the table is spread over by a Spider head (db/sharding.ts); null on one server. */
  shards: number | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateDatasetOptions {
  /** Shard the table over this many of the head's servers (or all of them). */
  shards?: number | 'all';
  /** Any part left out is taken from the first image imported. */
  shape?: Partial<ImageShape>;
  /** Default: stretch. */
  resize?: ResizeMode;
  testFraction?: number;
  validationFraction?: number;
}

interface RegistryRow {
  name: string;
  height: number | null;
  width: number | null;
  channels: number | null;
  resize: ResizeMode;
  test_fraction: number;
  validation_fraction: number;
  shards: number | null;
  created_at: Date;
  updated_at: Date;
}

const REGISTRY = escapeId(REGISTRY_TABLE);

/** The shape as import and training use it; the resize mode only when not the default (stretch). */
function toShape(r: Pick<RegistryRow, 'height' | 'width' | 'channels' | 'resize'>): ImageShape | null {
  if (!r.height || !r.width || !r.channels) return null;
  const shape: ImageShape = { height: r.height, width: r.width, channels: r.channels as 1 | 3 };
  return r.resize && r.resize !== 'stretch' ? { ...shape, resize: r.resize } : shape;
}

function shapeParts(r: Pick<RegistryRow, 'height' | 'width' | 'channels'>): Partial<ImageShape> {
  return {
    ...(r.height ? { height: r.height } : {}),
    ...(r.width ? { width: r.width } : {}),
    ...(r.channels ? { channels: r.channels as 1 | 3 } : {}),
  };
}

function toDataset(r: RegistryRow): Dataset {
  return {
    name: r.name,
    shape: toShape(r),
    shapeParts: shapeParts(r),
    resize: r.resize ?? 'stretch',
    testFraction: Number(r.test_fraction),
    validationFraction: Number(r.validation_fraction),
    shards: r.shards === null || r.shards === undefined ? null : Number(r.shards),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function validateFractions(test: number, validation: number): void {
  for (const [field, v] of [
    ['testFraction', test],
    ['validationFraction', validation],
  ] as const) {
    if (!Number.isFinite(v) || v < 0 || v >= 1) {
      throw new UsageError(`${field} must be at least 0 and below 1, got ${v}`, undefined, { field });
    }
  }
  if (test + validation >= 1) {
    throw new UsageError(
      `testFraction + validationFraction must stay below 1 (got ${test + validation})`,
      'leave rows to train on',
      { field: 'testFraction' },
    );
  }
}

export async function findDataset(db: Db, name: string): Promise<Dataset | undefined> {
  validateTableName(name);
  const rows = await db.query<RegistryRow>(`SELECT * FROM ${REGISTRY} WHERE name = ?`, [name]);
  if (rows.length === 0) return undefined;
  if (!(await datasetTableExists(db, name))) {
    // The table was dropped behind mldb's back: forget it rather than fail forever.
    await db.run(`DELETE FROM ${REGISTRY} WHERE name = ?`, [name]);
    return undefined;
  }
  return toDataset(rows[0]);
}

export async function getDataset(db: Db, name: string): Promise<Dataset> {
  const ds = await findDataset(db, name);
  if (!ds) {
    throw new NotFoundError(`no dataset table "${name}" in database "${db.config.database}"`, 'create it first', {
      reason: 'dataset-missing',
      subject: name,
    });
  }
  return ds;
}

export async function createDataset(db: Db, name: string, opts: CreateDatasetOptions = {}): Promise<Dataset> {
  validateTableName(name);
  const testFraction = opts.testFraction ?? DEFAULT_SPLIT_FRACTIONS.test;
  const validationFraction = opts.validationFraction ?? DEFAULT_SPLIT_FRACTIONS.validation;
  validateFractions(testFraction, validationFraction);
  const resize = opts.resize ?? 'stretch';
  if (!RESIZE_MODES.includes(resize))
    throw new UsageError(`resize must be one of ${RESIZE_MODES.join(', ')}, got ${String(resize)}`, undefined, {
      field: 'resize',
    });
  if (await findDataset(db, name)) {
    throw new UsageError(`table "${name}" already exists`, 'use it, or drop it first', {
      reason: 'dataset-exists',
      subject: name,
    });
  }
  if (await datasetTableExists(db, name)) {
    // Not one of ours (or another process is creating it right now: openDataset retries on this
    // reason until its registry row appears). mldb never drops what it did not create.
    throw new UsageError(
      `table "${name}" already exists in database "${db.config.database}" and is not an mldb dataset`,
      'choose another name (mldb does not drop tables it did not create)',
      { reason: 'table-exists-foreign', subject: name },
    );
  }
  let shards: number | null = null;
  if (opts.shards !== undefined) {
    const servers = await chooseShardServers(db, opts.shards);
    await createShardedTable(db, name, servers);
    await startShardIds(db, name);
    shards = servers.length;
  } else {
    await createDatasetTable(db, name);
  }
  const s = opts.shape;
  await db.run(
    `INSERT INTO ${REGISTRY} (name, height, width, channels, resize, test_fraction, validation_fraction, shards)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    [name, s?.height ?? null, s?.width ?? null, s?.channels ?? null, resize, testFraction, validationFraction, shards],
  );
  await startVersions(db, name);
  return getDataset(db, name);
}

/**
 * Completes the shape of a dataset created without all of it; parts already set are kept. The
 * first writer wins: the UPDATE only applies while a part is unset, and everyone returns the
 * shape the registry holds after it, so concurrent first imports store rows of one shape.
 */
export async function fixShape(db: Db, name: string, shape: ImageShape): Promise<ImageShape> {
  await db.run(
    `UPDATE ${REGISTRY} SET height = COALESCE(height, ?), width = COALESCE(width, ?), channels = COALESCE(channels, ?)
     WHERE name = ? AND (height IS NULL OR width IS NULL OR channels IS NULL)`,
    [shape.height, shape.width, shape.channels, name],
  );
  const [row] = await db.query<RegistryRow>(`SELECT height, width, channels, resize FROM ${REGISTRY} WHERE name = ?`, [
    name,
  ]);
  const stored = row && toShape(row);
  if (!stored)
    throw new NotFoundError(`dataset table "${name}" was dropped during the import`, undefined, { subject: name });
  return stored;
}

export async function dropDataset(db: Db, name: string): Promise<void> {
  const dataset = await getDataset(db, name);
  if (dataset.shards) {
    await dropShardedTable(db, name);
    await forgetShardIds(db, name);
  } else await dropDatasetTable(db, name);
  await forgetVersions(db, name);
  await db.run(`DELETE FROM ${REGISTRY} WHERE name = ?`, [name]);
}

export interface DatasetSummary extends Dataset {
  rows: number;
  labels: number;
  bytes: number;
  /** A sharded table: its rows on each server. */
  shardRows?: ShardRows[];
}

export async function listDatasets(db: Db): Promise<DatasetSummary[]> {
  const names = await db.query<{ name: string }>(`SELECT name FROM ${REGISTRY} ORDER BY name`);
  const out: DatasetSummary[] = [];
  for (const { name } of names) {
    const ds = await findDataset(db, name);
    if (!ds) continue;
    const stats = await tableStats(db, name);
    out.push({
      ...ds,
      rows: stats.rows,
      labels: stats.labels,
      bytes: stats.originalBytes + stats.pixelBytes,
      ...(ds.shards ? { shardRows: await shardRows(db, ds) } : {}),
    });
  }
  return out;
}

export interface LabelCounts {
  label: string;
  train: number;
  validation: number;
  test: number;
  total: number;
}

export interface DatasetDetails {
  dataset: Dataset;
  rows: number;
  labels: LabelCounts[];
  originalBytes: number;
  pixelBytes: number;
  formats: Record<string, number>;
  /** The version described, when one was named (`show TABLE@N`); absent: the current rows. */
  version?: number;
  /** A sharded table: its rows on each server (absent on one server). */
  shards?: ShardRows[];
}

export interface ShardRows {
  server: string;
  /** host:port of the backend. */
  address: string;
  partition: string;
  rows: number;
}

async function shardRows(db: Db, ds: Dataset, asOf?: number): Promise<ShardRows[] | undefined> {
  if (!ds.shards) return undefined;
  return (await rowsPerShard(db, ds.name, asOf)).map(({ shard, rows }) => ({
    server: shard.name,
    address: shard.direct ? `${shard.host}:${shard.port}` : 'address not readable',
    partition: shard.partition,
    rows,
  }));
}

/** Rows per label and split, labels in their natural order: from the split-label index alone. */
export async function labelCounts(db: Db, name: string, asOf?: number): Promise<LabelCounts[]> {
  const byLabel = new Map<string, LabelCounts>();
  for (const c of await labelSplitCounts(db, name, asOf)) {
    const entry = byLabel.get(c.label) ?? { label: c.label, train: 0, validation: 0, test: 0, total: 0 };
    entry[c.split as Split] += c.rows;
    entry.total += c.rows;
    byLabel.set(c.label, entry);
  }
  return [...byLabel.values()].sort((a, b) => compareLabels(a.label, b.label));
}

export async function describeDataset(db: Db, name: string, asOf?: number): Promise<DatasetDetails> {
  const dataset = await getDataset(db, name);
  const labels = await labelCounts(db, name, asOf);
  const stats = await tableStats(db, name, asOf);
  return {
    dataset,
    ...(asOf !== undefined && { version: asOf }),
    rows: stats.rows,
    labels,
    originalBytes: stats.originalBytes,
    pixelBytes: stats.pixelBytes,
    formats: stats.formats,
    ...(dataset.shards ? { shards: await shardRows(db, dataset, asOf) } : {}),
  };
}

/** A dataset as a page shows it at once: counts per label and split and its shards, no byte scan. */
export async function datasetAtAGlance(
  db: Db,
  name: string,
): Promise<{ dataset: Dataset; rows: number; labels: LabelCounts[]; shards?: ShardRows[] }> {
  const dataset = await getDataset(db, name);
  const labels = await labelCounts(db, name);
  return {
    dataset,
    rows: labels.reduce((n, l) => n + l.total, 0),
    labels,
    ...(dataset.shards ? { shards: await shardRows(db, dataset) } : {}),
  };
}

/** Every dataset with its rows, labels and an estimate of its size: a listing that stays quick. */
export async function listDatasetsAtAGlance(
  db: Db,
): Promise<Array<Dataset & { rows: number; labels: number; approxBytes: number; shardRows?: ShardRows[] }>> {
  const names = await db.query<{ name: string }>(`SELECT name FROM ${REGISTRY} ORDER BY name`);
  const out = [];
  for (const { name } of names) {
    const ds = await findDataset(db, name);
    if (!ds) continue;
    const stats = await quickTableStats(db, name);
    out.push({
      ...ds,
      ...stats,
      // A Spider head reports its own few kilobytes, not the backends' data: no estimate there.
      ...(ds.shards ? { approxBytes: 0, shardRows: await shardRows(db, ds) } : {}),
    });
  }
  return out;
}

export function requireShape(ds: Dataset): ImageShape {
  if (!ds.shape) {
    throw new InvalidDataError(`dataset "${ds.name}" has no images yet`, 'import some first', {
      reason: 'dataset-empty',
      subject: ds.name,
    });
  }
  return ds.shape;
}
