import type { Db } from './db';
import { escapeId } from './identifiers';
import { MODELS_TABLE, PREDICTIONS_TABLE } from './schema';

/**
 * The prediction log (mldb_predictions): one row per classified image, written in batches by the
 * service's log writer and by `predict --watch`; corrected labels make it a source of training data.
 */

export interface PredictionLogRow {
  /** UUIDv7, made by the process that answered. */
  id: string;
  createdAt: Date;
  /** Where the request came from: api, form (the original's /mnist), page, watch. */
  source: string;
  /** How the model is named in listings: `name@version`, `run:ID` or a folder. */
  model: string;
  modelId: number | null;
  runId: number | null;
  client: string | null;
  fileName: string | null;
  inputSha256: Buffer | null;
  inputBytes: number;
  inputFormat: string | null;
  /** The input itself, when the service logs inputs (`logInputs`). */
  input: Buffer | null;
  label: string | null;
  confidence: number | null;
  top: Array<{ label: string; probability: number }> | null;
  latencyMs: number;
  status: 'ok' | 'error';
  error: string | null;
  /** A label already given before the row was written (feedback on a queued row). */
  trueLabel?: string | null;
}

/** Per-row bytes of SQL besides the input: for sizing batches under max_allowed_packet. */
export const PREDICTION_SQL_OVERHEAD = 1500;

/** One multi-row INSERT. A row already written (a retried batch) is left as it is. */
export async function insertPredictions(db: Db, rows: readonly PredictionLogRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.run(
    `INSERT INTO ${escapeId(PREDICTIONS_TABLE)} (id, created_at, source, model, model_id, run_id, client, file_name,
       input_sha256, input_bytes, input_format, input, label, confidence, top, latency_ms, status, error,
       true_label, labeled_at)
     VALUES ? ON DUPLICATE KEY UPDATE id = id`,
    [
      rows.map((r) => [
        r.id,
        r.createdAt,
        r.source,
        r.model.slice(0, 255),
        r.modelId,
        r.runId,
        r.client?.slice(0, 64) ?? null,
        r.fileName?.slice(0, 255) ?? null,
        r.inputSha256,
        r.inputBytes,
        r.inputFormat,
        r.input,
        r.label,
        r.confidence,
        r.top ? JSON.stringify(r.top) : null,
        r.latencyMs,
        r.status,
        r.error?.slice(0, 255) ?? null,
        r.trueLabel ?? null,
        r.trueLabel ? r.createdAt : null,
      ]),
    ],
  );
}

/**
 * The labels of the model that made a logged prediction: undefined when no row has that id,
 * null when that model is not stored in the database (served from a folder only).
 */
export async function predictionModelLabels(db: Db, id: string): Promise<string[] | null | undefined> {
  const rows = await db.query<{ labels: string | null }>(
    `SELECT m.labels FROM ${escapeId(PREDICTIONS_TABLE)} p ` +
      `LEFT JOIN ${escapeId(MODELS_TABLE)} m ON m.id = p.model_id WHERE p.id = ?`,
    [id],
  );
  if (rows.length === 0) return undefined;
  return rows[0].labels === null ? null : (JSON.parse(rows[0].labels) as string[]);
}

/** Records the true label of a logged prediction; false when no row has that id. */
export async function setTrueLabel(db: Db, id: string, label: string): Promise<boolean> {
  const res = await db.run(
    `UPDATE ${escapeId(PREDICTIONS_TABLE)} SET true_label = ?, labeled_at = CURRENT_TIMESTAMP(3) WHERE id = ?`,
    [label, id],
  );
  if (res.affectedRows > 0) return true;
  // MariaDB counts changed rows: the same label twice affects none, yet the row exists.
  const rows = await db.query(`SELECT 1 FROM ${escapeId(PREDICTIONS_TABLE)} WHERE id = ?`, [id]);
  return rows.length > 0;
}

export interface PredictionFilter {
  model?: string;
  /** Only rows at or after this time. */
  since?: Date;
  /** Only rows predicted as this label. */
  label?: string;
  /** Only rows with a corrected label. */
  corrected?: boolean;
  /** Only corrections not yet promoted into a dataset table (what `predictions promote` would take). */
  pending?: boolean;
  /** Only rows before this time. */
  before?: Date;
  /**
   * Only rows after this one in the newest-first order, (created_at, id) descending: the next page.
   * Times alone are not unique (a batch shares a millisecond), so a page boundary that cut through
   * one millisecond skipped the rest of it.
   */
  olderThan?: PredictionPosition;
  limit?: number;
}

/** Where a row stands in the log's order: its time, then its id (unique) among rows of that time. */
export interface PredictionPosition {
  createdAt: Date;
  id: string;
}

export interface PredictionSummary {
  id: string;
  createdAt: string;
  source: string;
  model: string;
  client: string | null;
  fileName: string | null;
  inputSha256: string | null;
  inputBytes: number;
  inputFormat: string | null;
  inputLogged: boolean;
  label: string | null;
  confidence: number | null;
  top: Array<{ label: string; probability: number }> | null;
  latencyMs: number;
  status: string;
  error: string | null;
  trueLabel: string | null;
  promotedTo: string | null;
}

function where(f: PredictionFilter): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    parts.push(sql);
    params.push(value);
  };
  if (f.model !== undefined) add('model = ?', f.model);
  if (f.since !== undefined) add('created_at >= ?', f.since);
  if (f.label !== undefined) add('label = ?', f.label);
  if (f.before !== undefined) add('created_at < ?', f.before);
  if (f.olderThan !== undefined) {
    // The first term bounds the index range; the second orders rows within one millisecond by id.
    parts.push('created_at <= ? AND (created_at < ? OR id < ?)');
    params.push(f.olderThan.createdAt, f.olderThan.createdAt, f.olderThan.id);
  }
  if (f.corrected || f.pending) parts.push('true_label IS NOT NULL');
  if (f.pending) parts.push('promoted_to IS NULL');
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

export async function countPredictions(db: Db, f: PredictionFilter = {}): Promise<number> {
  const { sql, params } = where(f);
  const [row] = await db.query<{ n: number }>(
    `SELECT COUNT(*) AS n FROM ${escapeId(PREDICTIONS_TABLE)} ${sql}`,
    params,
  );
  return Number(row.n);
}

/** Logged predictions, newest first, without their inputs. */
export async function listPredictions(db: Db, f: PredictionFilter = {}): Promise<PredictionSummary[]> {
  const { sql, params } = where(f);
  const rows = await db.query<Record<string, unknown>>(
    `SELECT id, created_at, source, model, client, file_name, input_sha256, input_bytes, input_format,
       input IS NOT NULL AS input_logged, label, confidence, top, latency_ms, status, error, true_label, promoted_to
     FROM ${escapeId(PREDICTIONS_TABLE)} ${sql} ORDER BY created_at DESC, id DESC LIMIT ?`,
    [...params, f.limit ?? 20],
  );
  return rows.map((r) => ({
    id: r.id as string,
    createdAt: (r.created_at as Date).toISOString(),
    source: r.source as string,
    model: r.model as string,
    client: r.client as string | null,
    fileName: r.file_name as string | null,
    inputSha256: r.input_sha256 ? (r.input_sha256 as Buffer).toString('hex') : null,
    inputBytes: Number(r.input_bytes),
    inputFormat: r.input_format as string | null,
    inputLogged: Number(r.input_logged) === 1,
    label: r.label as string | null,
    confidence: r.confidence as number | null,
    top: r.top ? JSON.parse(r.top as string) : null,
    latencyMs: r.latency_ms as number,
    status: r.status as string,
    error: r.error as string | null,
    trueLabel: r.true_label as string | null,
    promotedTo: r.promoted_to as string | null,
  }));
}

/** The logged input of one prediction (null when it was not logged), or undefined for no such row. */
export async function predictionInput(
  db: Db,
  id: string,
): Promise<{ input: Buffer | null; sha256: Buffer | null; format: string | null } | undefined> {
  const [row] = await db.query<{ input: Buffer | null; input_sha256: Buffer | null; input_format: string | null }>(
    `SELECT input, input_sha256, input_format FROM ${escapeId(PREDICTIONS_TABLE)} WHERE id = ?`,
    [id],
  );
  return row && { input: row.input, sha256: row.input_sha256, format: row.input_format };
}

export interface CorrectedInput {
  id: string;
  trueLabel: string;
  fileName: string | null;
  input: Buffer;
}

/**
 * Corrected predictions whose input was logged and that were not yet promoted into `table`,
 * oldest first, one page after `afterId`.
 */
export async function correctedInputs(
  db: Db,
  table: string,
  f: Pick<PredictionFilter, 'model' | 'since'> & { afterId?: string; limit?: number } = {},
): Promise<CorrectedInput[]> {
  const { sql, params } = where({ ...f, corrected: true });
  const rows = await db.query<{ id: string; true_label: string; file_name: string | null; input: Buffer }>(
    `SELECT id, true_label, file_name, input FROM ${escapeId(PREDICTIONS_TABLE)} ${sql}
       AND input IS NOT NULL AND (promoted_to IS NULL OR promoted_to <> ?) AND id > ?
     ORDER BY id LIMIT ?`,
    [...params, table, f.afterId ?? '', f.limit ?? 500],
  );
  return rows.map((r) => ({ id: r.id, trueLabel: r.true_label, fileName: r.file_name, input: r.input }));
}

/** Corrected predictions that cannot be promoted because their input was not logged. */
export async function correctedWithoutInput(
  db: Db,
  f: Pick<PredictionFilter, 'model' | 'since'> = {},
): Promise<number> {
  const { sql, params } = where({ ...f, corrected: true });
  const [row] = await db.query<{ n: number }>(
    `SELECT COUNT(*) AS n FROM ${escapeId(PREDICTIONS_TABLE)} ${sql} AND input IS NULL`,
    params,
  );
  return Number(row.n);
}

export async function markPromoted(db: Db, ids: readonly string[], table: string): Promise<void> {
  if (ids.length === 0) return;
  await db.run(
    `UPDATE ${escapeId(PREDICTIONS_TABLE)} SET promoted_to = ?, promoted_at = CURRENT_TIMESTAMP(3) WHERE id IN (?)`,
    [table, ids],
  );
}
