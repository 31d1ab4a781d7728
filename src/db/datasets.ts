import { InvalidDataError, NotFoundError, UsageError } from '../errors';
import { escapeId, validateTableName } from './identifiers';
import type { Db } from './pool';
import { CREATE_REGISTRY, createDatasetTableSql, REGISTRY_TABLE, SPLITS, type Split } from './schema';

export interface ImageShape {
  height: number;
  width: number;
  channels: 1 | 3;
}

/** A dataset as the registry knows it. The shape is unset until given or the first import. */
export interface Dataset {
  name: string;
  shape: ImageShape | null;
  testFraction: number;
  validationFraction: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateDatasetOptions {
  shape?: ImageShape;
  testFraction?: number;
  validationFraction?: number;
}

interface RegistryRow {
  name: string;
  height: number | null;
  width: number | null;
  channels: number | null;
  test_fraction: number;
  validation_fraction: number;
  created_at: Date;
  updated_at: Date;
}

const REGISTRY = escapeId(REGISTRY_TABLE);

export async function ensureRegistry(db: Db): Promise<void> {
  await db.run(CREATE_REGISTRY);
}

function toDataset(r: RegistryRow): Dataset {
  const shape =
    r.height && r.width && r.channels ? { height: r.height, width: r.width, channels: r.channels as 1 | 3 } : null;
  return {
    name: r.name,
    shape,
    testFraction: Number(r.test_fraction),
    validationFraction: Number(r.validation_fraction),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function validateFractions(test: number, validation: number): void {
  for (const [flag, v] of [
    ['--test-fraction', test],
    ['--validation-fraction', validation],
  ] as const) {
    if (!Number.isFinite(v) || v < 0 || v >= 1)
      throw new UsageError(`${flag} must be at least 0 and below 1, got ${v}`);
  }
  if (test + validation >= 1) {
    throw new UsageError(
      `--test-fraction + --validation-fraction must stay below 1 (got ${test + validation})`,
      'leave rows to train on',
    );
  }
}

async function tableExists(db: Db, name: string): Promise<boolean> {
  const rows = await db.query(
    'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    [name],
  );
  return rows.length > 0;
}

export async function findDataset(db: Db, name: string): Promise<Dataset | undefined> {
  validateTableName(name);
  await ensureRegistry(db);
  const rows = await db.query<RegistryRow>(`SELECT * FROM ${REGISTRY} WHERE name = ?`, [name]);
  if (rows.length === 0) return undefined;
  if (!(await tableExists(db, name))) {
    // The table was dropped behind mldb's back: forget it rather than fail forever.
    await db.run(`DELETE FROM ${REGISTRY} WHERE name = ?`, [name]);
    return undefined;
  }
  return toDataset(rows[0]);
}

export async function getDataset(db: Db, name: string): Promise<Dataset> {
  const ds = await findDataset(db, name);
  if (!ds) {
    throw new NotFoundError(
      `no dataset table "${name}" in database "${db.config.database}"`,
      `create it with \`mldb create-table ${name}\`, or list them with \`mldb tables\``,
    );
  }
  return ds;
}

export async function createDataset(db: Db, name: string, opts: CreateDatasetOptions = {}): Promise<Dataset> {
  validateTableName(name);
  const testFraction = opts.testFraction ?? 0.1;
  const validationFraction = opts.validationFraction ?? 0;
  validateFractions(testFraction, validationFraction);
  await ensureRegistry(db);
  if ((await findDataset(db, name)) || (await tableExists(db, name))) {
    throw new UsageError(
      `table "${name}" already exists`,
      `use it, or remove it first with \`mldb drop-table ${name}\``,
    );
  }
  await db.run(createDatasetTableSql(name));
  const s = opts.shape;
  await db.run(
    `INSERT INTO ${REGISTRY} (name, height, width, channels, test_fraction, validation_fraction) VALUES (?, ?, ?, ?, ?, ?)`,
    [name, s?.height ?? null, s?.width ?? null, s?.channels ?? null, testFraction, validationFraction],
  );
  return getDataset(db, name);
}

/** Fixes the shape of a dataset created without one; done once, by the first import. */
export async function setShape(db: Db, name: string, shape: ImageShape): Promise<void> {
  await db.run(`UPDATE ${REGISTRY} SET height = ?, width = ?, channels = ? WHERE name = ? AND height IS NULL`, [
    shape.height,
    shape.width,
    shape.channels,
    name,
  ]);
}

export async function dropDataset(db: Db, name: string): Promise<void> {
  await getDataset(db, name);
  await db.run(`DROP TABLE IF EXISTS ${escapeId(name)}`);
  await db.run(`DELETE FROM ${REGISTRY} WHERE name = ?`, [name]);
}

export interface DatasetSummary extends Dataset {
  rows: number;
  labels: number;
  bytes: number;
}

export async function listDatasets(db: Db): Promise<DatasetSummary[]> {
  await ensureRegistry(db);
  const names = await db.query<{ name: string }>(`SELECT name FROM ${REGISTRY} ORDER BY name`);
  const out: DatasetSummary[] = [];
  for (const { name } of names) {
    const ds = await findDataset(db, name);
    if (!ds) continue;
    const [c] = await db.query<{ n: number; labels: number; bytes: string | null }>(
      `SELECT COUNT(*) AS n, COUNT(DISTINCT label) AS labels,
              SUM(LENGTH(original) + LENGTH(pixels)) AS bytes FROM ${escapeId(name)}`,
    );
    out.push({ ...ds, rows: Number(c.n), labels: Number(c.labels), bytes: Number(c.bytes ?? 0) });
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
}

export async function describeDataset(db: Db, name: string): Promise<DatasetDetails> {
  const dataset = await getDataset(db, name);
  const t = escapeId(name);
  const counts = await db.query<{ label: string; split: Split; n: number }>(
    `SELECT label, split, COUNT(*) AS n FROM ${t} GROUP BY label, split ORDER BY label`,
  );
  const byLabel = new Map<string, LabelCounts>();
  for (const c of counts) {
    const entry = byLabel.get(c.label) ?? { label: c.label, train: 0, validation: 0, test: 0, total: 0 };
    entry[c.split] += Number(c.n);
    entry.total += Number(c.n);
    byLabel.set(c.label, entry);
  }
  const [sizes] = await db.query<{ o: string | null; p: string | null }>(
    `SELECT SUM(LENGTH(original)) AS o, SUM(LENGTH(pixels)) AS p FROM ${t}`,
  );
  const fmts = await db.query<{ format: string; n: number }>(`SELECT format, COUNT(*) AS n FROM ${t} GROUP BY format`);
  const labels = [...byLabel.values()].sort((a, b) => compareLabels(a.label, b.label));
  return {
    dataset,
    rows: labels.reduce((s, l) => s + l.total, 0),
    labels,
    originalBytes: Number(sizes.o ?? 0),
    pixelBytes: Number(sizes.p ?? 0),
    formats: Object.fromEntries(fmts.map((f) => [f.format, Number(f.n)])),
  };
}

/** Numeric labels sort as numbers ("2" before "10"), others by code point. */
export function compareLabels(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (a.trim() !== '' && b.trim() !== '' && Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface RowFilter {
  label?: string;
  split?: Split;
  limit?: number;
  afterId?: number;
}

export interface RowSummary {
  id: number;
  label: string;
  split: Split;
  source: string;
  sha256: string;
  format: string;
  bytes: number;
}

export function validateSplit(split: string | undefined): Split | undefined {
  if (split === undefined) return undefined;
  if (!(SPLITS as readonly string[]).includes(split)) {
    throw new UsageError(`unknown split "${split}"`, `use one of ${SPLITS.join(', ')}`);
  }
  return split as Split;
}

/** Builds the WHERE clause shared by listing, export and training reads; values are parameters. */
export function whereClause(filter: RowFilter): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (filter.afterId !== undefined) {
    parts.push('id > ?');
    params.push(filter.afterId);
  }
  if (filter.label !== undefined) {
    parts.push('label = ?');
    params.push(filter.label);
  }
  if (filter.split !== undefined) {
    parts.push('split = ?');
    params.push(validateSplit(filter.split));
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

/** The original's AcquireData, without the BLOBs: what is in the table, page by page. */
export async function listRows(db: Db, name: string, filter: RowFilter = {}): Promise<RowSummary[]> {
  await getDataset(db, name);
  const limit = filter.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive integer, got ${limit}`);
  const { sql, params } = whereClause(filter);
  const rows = await db.query<{
    id: number;
    label: string;
    split: Split;
    source: string;
    sha: string;
    format: string;
    bytes: number;
  }>(
    `SELECT id, label, split, source, HEX(sha256) AS sha, format, LENGTH(original) AS bytes
     FROM ${escapeId(name)} ${sql} ORDER BY id LIMIT ?`,
    [...params, limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    label: r.label,
    split: r.split,
    source: r.source,
    sha256: r.sha.toLowerCase(),
    format: r.format,
    bytes: Number(r.bytes),
  }));
}

export function requireShape(ds: Dataset): ImageShape {
  if (!ds.shape)
    throw new InvalidDataError(
      `dataset "${ds.name}" has no images yet`,
      `import some with \`mldb import DIR --table ${ds.name}\``,
    );
  return ds.shape;
}
