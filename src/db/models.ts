import path from 'node:path';
import crypto from 'node:crypto';
import { InvalidDataError, NotFoundError, UsageError } from '../errors';
import type { Db, Queryable } from './db';
import { escapeId } from './identifiers';
import { inTransaction } from './transaction';
import { isDuplicateKey, retryOnLockConflict } from './transient';
import { MODEL_CHUNKS_TABLE, MODELS_TABLE, RUNS_TABLE } from './schema';

/**
 * Trained models kept in the database (mldb_models + mldb_model_chunks). A model is stored in one
 * transaction, so a reader sees all of it or none; its weights are split into chunks under the
 * server's max_allowed_packet and checked against their SHA-256 when read back.
 */

/** What a stored model is made of: the three files of a saved model folder. */
export interface ModelFiles {
  /** model.json as text (topology and weights manifest). */
  modelJson: string;
  /** The concatenated weight files, in manifest order. */
  weights: Buffer;
  /** metadata.json as text. */
  metadata: string;
}

export interface StoreModelInfo {
  name: string;
  runId?: number | null;
  architecture: string;
  dataset?: string | null;
  labels: string[];
  inputShape: readonly number[];
  testAccuracy?: number | null;
}

export interface StoredModel {
  id: number;
  name: string;
  version: number;
  runId: number | null;
  architecture: string;
  dataset: string | null;
  labels: string[];
  inputShape: number[];
  testAccuracy: number | null;
  weightsBytes: number;
  weightsSha256: string;
  createdAt: string;
}

/** Names a user types after `--model`: never all digits (that is an id), never `run:…` or a path. */
const NAME = /^(?!\d+$)[A-Za-z0-9][A-Za-z0-9_.-]{0,190}$/;

export function validateModelName(name: string): string {
  if (!NAME.test(name)) {
    throw new UsageError(
      `invalid model name "${name}"`,
      'use letters, digits, "_", "-" and "." (not only digits; at most 191 characters)',
      { field: 'name', subject: name },
    );
  }
  return name;
}

/** A stored model's default name: its folder's, in the characters a model name allows. */
export function modelNameFor(folder: string): string {
  const base = path
    .basename(folder)
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .replace(/^[^A-Za-z0-9]+/, '');
  const name = /^\d*$/.test(base) ? `model-${base}` : base;
  return name.slice(0, 191);
}

/** Rows per chunk: half the packet leaves room for the statement; never more than 8 MiB. */
function chunkSize(packet: number): number {
  return Math.max(64 * 1024, Math.min(8 * 1024 * 1024, Math.floor(packet / 2) - 4096));
}

interface ModelRow {
  id: number;
  name: string;
  version: number;
  run_id: number | null;
  architecture: string;
  dataset: string | null;
  labels: string;
  input_shape: string;
  test_accuracy: number | null;
  weights_bytes: number;
  weights_sha256: string;
  created_at: Date;
}

const COLUMNS =
  'id, name, version, run_id, architecture, dataset, labels, input_shape, test_accuracy, weights_bytes, ' +
  'weights_sha256, created_at';

function toStored(r: ModelRow): StoredModel {
  return {
    id: Number(r.id),
    name: r.name,
    version: Number(r.version),
    runId: r.run_id === null ? null : Number(r.run_id),
    architecture: r.architecture,
    dataset: r.dataset,
    labels: JSON.parse(r.labels) as string[],
    inputShape: r.input_shape.split('x').map(Number),
    testAccuracy: r.test_accuracy,
    weightsBytes: Number(r.weights_bytes),
    weightsSha256: r.weights_sha256,
    createdAt: r.created_at.toISOString(),
  };
}

/** Stores a model as the next version of its name; returns what was stored. */
export async function storeModel(db: Db, info: StoreModelInfo, files: ModelFiles): Promise<StoredModel> {
  validateModelName(info.name);
  const size = chunkSize(await db.maxAllowedPacket());
  const sha = crypto.createHash('sha256').update(files.weights).digest('hex');
  const chunks = Math.max(1, Math.ceil(files.weights.length / size));
  // Two processes storing the same name at once may pick the same version: the unique key
  // refuses the second, which then takes the next one. Lock races are retried with backoff.
  for (let attempt = 0; ; attempt++) {
    try {
      const id = await retryOnLockConflict(() =>
        inTransaction(db, (conn) => insertModel(conn, info, files, sha, chunks, size)),
      );
      return (await findModelById(db, id))!;
    } catch (e) {
      if (attempt < 5 && isDuplicateKey(e)) continue;
      throw e;
    }
  }
}

async function insertModel(
  conn: Queryable,
  info: StoreModelInfo,
  files: ModelFiles,
  sha: string,
  chunks: number,
  size: number,
): Promise<number> {
  // Not one INSERT … SELECT MAX(version) FROM the same table: under concurrent stores MariaDB fails
  // that with ER_AUTOINC_READ_FAILED. A plain read, then a plain INSERT: the unique key on (name,
  // version) refuses a clash, which is retried. Not a locking read: two stores of a new name then
  // both held gap locks and deadlocked at their INSERTs, again on every immediate retry under load.
  const [next] = await conn.query<{ v: number }>(
    `SELECT COALESCE(MAX(version), 0) + 1 AS v FROM ${escapeId(MODELS_TABLE)} WHERE name = ?`,
    [info.name],
  );
  const res = await conn.run(
    `INSERT INTO ${escapeId(MODELS_TABLE)} (name, version, run_id, architecture, dataset, labels, input_shape,
       test_accuracy, model_json, metadata, weights_bytes, weights_sha256, chunks)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      info.name,
      Number(next.v),
      info.runId ?? null,
      info.architecture,
      info.dataset ?? null,
      JSON.stringify(info.labels),
      info.inputShape.join('x'),
      info.testAccuracy ?? null,
      files.modelJson,
      files.metadata,
      files.weights.length,
      sha,
      chunks,
    ],
  );
  for (let seq = 0; seq < chunks; seq++) {
    await conn.run(`INSERT INTO ${escapeId(MODEL_CHUNKS_TABLE)} (model_id, seq, bytes) VALUES (?, ?, ?)`, [
      res.insertId,
      seq,
      files.weights.subarray(seq * size, (seq + 1) * size),
    ]);
  }
  return res.insertId;
}

async function findModelById(db: Db, id: number): Promise<StoredModel | undefined> {
  const rows = await db.query<ModelRow>(`SELECT ${COLUMNS} FROM ${escapeId(MODELS_TABLE)} WHERE id = ?`, [id]);
  return rows[0] && toStored(rows[0]);
}

/**
 * A stored model by reference: `run:ID` (the model that run stored), an id (all digits), or a
 * name (its newest version; `name@3` for version 3). Undefined when nothing matches.
 */
export async function findModel(db: Db, ref: string): Promise<StoredModel | undefined> {
  const run = /^run:(\d+)$/.exec(ref);
  if (run) {
    const rows = await db.query<ModelRow>(
      `SELECT ${COLUMNS} FROM ${escapeId(MODELS_TABLE)} WHERE run_id = ? ORDER BY id DESC LIMIT 1`,
      [Number(run[1])],
    );
    return rows[0] && toStored(rows[0]);
  }
  if (/^\d+$/.test(ref)) return findModelById(db, Number(ref));
  const versioned = /^(.+)@(\d+)$/.exec(ref);
  const rows = await db.query<ModelRow>(
    versioned
      ? `SELECT ${COLUMNS} FROM ${escapeId(MODELS_TABLE)} WHERE name = ? AND version = ?`
      : `SELECT ${COLUMNS} FROM ${escapeId(MODELS_TABLE)} WHERE name = ? ORDER BY version DESC LIMIT 1`,
    versioned ? [versioned[1], Number(versioned[2])] : [ref],
  );
  return rows[0] && toStored(rows[0]);
}

/** Like findModel, but a missing model is an error that says what exists. */
export async function getModel(db: Db, ref: string): Promise<StoredModel> {
  const found = await findModel(db, ref);
  if (found) return found;
  const run = /^run:(\d+)$/.exec(ref);
  if (run) {
    const runs = await db.query(`SELECT 1 FROM ${escapeId(RUNS_TABLE)} WHERE id = ?`, [Number(run[1])]);
    throw new NotFoundError(
      runs.length ? `run ${run[1]} stored no model` : `no run ${run[1]}`,
      runs.length ? 'it was trained with storing turned off, or did not complete' : undefined,
      { reason: runs.length ? 'model-missing' : 'run-missing', subject: ref },
    );
  }
  throw new NotFoundError(`no stored model "${ref}"`, undefined, { reason: 'model-missing', subject: ref });
}

/** The files of a stored model, its weights checked against the recorded hash. */
export async function readModelFiles(db: Db, model: StoredModel): Promise<ModelFiles> {
  const [row] = await db.query<{ model_json: string; metadata: string }>(
    `SELECT model_json, metadata FROM ${escapeId(MODELS_TABLE)} WHERE id = ?`,
    [model.id],
  );
  if (!row) throw new NotFoundError(`stored model ${model.id} was deleted`, undefined, { reason: 'model-missing' });
  const parts = await db.query<{ bytes: Buffer }>(
    `SELECT bytes FROM ${escapeId(MODEL_CHUNKS_TABLE)} WHERE model_id = ? ORDER BY seq`,
    [model.id],
  );
  const weights = Buffer.concat(parts.map((p) => p.bytes));
  const sha = crypto.createHash('sha256').update(weights).digest('hex');
  if (weights.length !== model.weightsBytes || sha !== model.weightsSha256) {
    throw new InvalidDataError(
      `stored model ${model.name}@${model.version} (id ${model.id}) has damaged weights ` +
        `(${weights.length} bytes, checksum mismatch)`,
      'store the model again from its folder, or retrain it',
      { subject: String(model.id) },
    );
  }
  return { modelJson: row.model_json, metadata: row.metadata, weights };
}

/** Stored models, newest first. */
export async function listModels(
  db: Db,
  filter: { name?: string; runId?: number; limit?: number } = {},
): Promise<StoredModel[]> {
  const conditions: Array<[string, unknown]> = [];
  if (filter.name) conditions.push(['name = ?', filter.name]);
  if (filter.runId !== undefined) conditions.push(['run_id = ?', filter.runId]);
  const where = conditions.map(([sql]) => sql);
  const params = conditions.map(([, value]) => value);
  const rows = await db.query<ModelRow>(
    `SELECT ${COLUMNS} FROM ${escapeId(MODELS_TABLE)} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ` +
      'ORDER BY id DESC LIMIT ?',
    [...params, filter.limit ?? 50],
  );
  return rows.map(toStored);
}

export async function countModels(db: Db): Promise<number> {
  const [row] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${escapeId(MODELS_TABLE)}`);
  return Number(row.n);
}

/** Deletes one stored model and its weights. */
export async function deleteModel(db: Db, model: StoredModel): Promise<void> {
  await inTransaction(db, async (conn) => {
    await conn.run(`DELETE FROM ${escapeId(MODEL_CHUNKS_TABLE)} WHERE model_id = ?`, [model.id]);
    await conn.run(`DELETE FROM ${escapeId(MODELS_TABLE)} WHERE id = ?`, [model.id]);
  });
}
