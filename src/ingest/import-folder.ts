import crypto from 'node:crypto';
import fs from 'node:fs';
import { createDataset, findDataset, setShape, type Dataset, type ImageShape } from '../db/datasets';
import { escapeId } from '../db/identifiers';
import type { Db } from '../db/pool';
import { InvalidDataError, NotFoundError, UsageError } from '../errors';
import { decodeImage, DecodeError, toShape, type DecodedImage } from '../images/decode';
import { splitFor } from './splits';
import { walkLabeledFolder, type LabeledFile, type Rejection } from './walk-labeled-folder';

export interface ImportOptions {
  table: string;
  /** Create the table when it does not exist. */
  create?: boolean;
  /** The dataset's shape when this import creates it; else taken from the first image. */
  shape?: Partial<ImageShape>;
  testFraction?: number;
  validationFraction?: number;
  onProgress?: (p: ImportProgress) => void;
  /** Called once when the dataset's shape is fixed by the first image. */
  onShape?: (shape: ImageShape) => void;
}

export interface ImportProgress {
  done: number;
  total: number;
  imported: number;
  alreadyPresent: number;
  rejected: number;
  elapsedSeconds: number;
}

export interface ImportSummary {
  table: string;
  shape: ImageShape | null;
  /** True when this import fixed the dataset's shape from its first image. */
  shapeFromFirstImage: boolean;
  files: number;
  imported: number;
  /** Already in the table before this import (a re-import adds nothing). */
  alreadyPresent: number;
  /** Files identical to another file of this import: stored once. */
  duplicates: number;
  /** Identical images under different labels: the first label seen is kept. */
  conflicts: LabelConflict[];
  rejected: Rejection[];
  seconds: number;
  imagesPerSecond: number;
}

interface PreparedRow {
  file: LabeledFile;
  sha: Buffer;
  bytes: Buffer;
  format: string;
  width: number;
  height: number;
  pixels: Uint8Array;
}

/** Files read, hashed and checked against the table per round trip. */
const CHUNK_FILES = 512;
/** Upper bound on rows per INSERT, whatever their size. */
const MAX_BATCH_ROWS = 2000;
/** Per-row bytes of SQL around the BLOBs (label, source, punctuation). */
const ROW_OVERHEAD = 1200;

/**
 * The original's InsertData2Table, done safely: every file is hashed, known hashes are skipped,
 * new images are decoded to the dataset's shape and written in multi-row INSERTs sized under the
 * server's max_allowed_packet. Each INSERT is one atomic statement, so a killed import leaves
 * only whole batches, and re-running it finishes the job without duplicates.
 */
export async function importFolder(db: Db, dir: string, opts: ImportOptions): Promise<ImportSummary> {
  const started = Date.now();
  let dataset = await openOrCreate(db, opts);
  const walk = walkLabeledFolder(dir);
  const rejected: Rejection[] = [...walk.rejected];
  const table = escapeId(opts.table);
  const packet = await db.maxAllowedPacket();
  const budget = Math.floor(packet * 0.9) - 4096;
  let shapeFromFirstImage = false;
  let imported = 0;
  let alreadyPresent = 0;
  let done = 0;
  let duplicates = 0;
  const conflicts: LabelConflict[] = [];
  const seen = new Map<string, LabeledFile>();

  const report = () =>
    opts.onProgress?.({
      done,
      total: walk.files.length,
      imported,
      alreadyPresent: alreadyPresent + duplicates,
      rejected: rejected.length,
      elapsedSeconds: (Date.now() - started) / 1000,
    });

  let batch: PreparedRow[] = [];
  let batchBytes = 0;
  let inFlight: Promise<void> | undefined;
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    batchBytes = 0;
    if (inFlight) await inFlight;
    // The INSERT runs on the server while the next chunk is read and decoded here.
    inFlight = insertRows(db, table, rows, dataset).then((n) => {
      imported += n;
      alreadyPresent += rows.length - n;
    });
  };

  for (let start = 0; start < walk.files.length; start += CHUNK_FILES) {
    const chunk = walk.files.slice(start, start + CHUNK_FILES);
    const deduped = await readAndDedupe(db, table, chunk, seen, rejected);
    alreadyPresent += deduped.present;
    duplicates += deduped.duplicates;
    conflicts.push(...deduped.conflicts);
    for (const item of deduped.fresh) {
      const decoded = await decodeOrReject(item, rejected);
      if (!decoded) continue;
      if (!dataset.shape) {
        const fixed: ImageShape = {
          height: opts.shape?.height ?? decoded.height,
          width: opts.shape?.width ?? decoded.width,
          channels: opts.shape?.channels ?? decoded.sourceChannels,
        };
        await setShape(db, opts.table, fixed);
        dataset = { ...dataset, shape: fixed };
        shapeFromFirstImage = true;
        opts.onShape?.(fixed);
      }
      const pixels = await toShape(decoded, dataset.shape!);
      const size = 2 * (item.bytes.length + pixels.length) + ROW_OVERHEAD;
      if (size > budget) {
        rejected.push({
          path: item.file.path,
          reason: `too large for the server (${mib(item.bytes.length)} file; max_allowed_packet is ${mib(packet)}): raise max_allowed_packet`,
        });
        continue;
      }
      if (batch.length >= MAX_BATCH_ROWS || batchBytes + size > budget) await flush();
      batch.push({ ...item, format: decoded.format, width: decoded.width, height: decoded.height, pixels });
      batchBytes += size;
    }
    done += chunk.length;
    report();
  }
  await flush();
  if (inFlight) await inFlight;
  report();
  const seconds = (Date.now() - started) / 1000;
  return {
    table: opts.table,
    shape: dataset.shape,
    shapeFromFirstImage,
    files: walk.files.length,
    imported,
    alreadyPresent,
    duplicates,
    conflicts,
    rejected,
    seconds,
    imagesPerSecond: walk.files.length / Math.max(seconds, 1e-6),
  };
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

async function openOrCreate(db: Db, opts: ImportOptions): Promise<Dataset> {
  const existing = await findDataset(db, opts.table);
  if (existing) {
    const s = opts.shape;
    const want = existing.shape;
    if (
      want &&
      s &&
      ((s.height && s.height !== want.height) ||
        (s.width && s.width !== want.width) ||
        (s.channels && s.channels !== want.channels))
    ) {
      throw new UsageError(
        `table "${opts.table}" stores images at ${want.height}x${want.width}x${want.channels}, not the requested shape`,
        'omit --size/--channels, or import into a new table',
      );
    }
    if (
      (opts.testFraction !== undefined && opts.testFraction !== existing.testFraction) ||
      (opts.validationFraction !== undefined && opts.validationFraction !== existing.validationFraction)
    ) {
      throw new UsageError(
        `table "${opts.table}" already splits test ${existing.testFraction} / validation ${existing.validationFraction}`,
        'split fractions are fixed when a table is created: omit them, or import into a new table',
      );
    }
    return existing;
  }
  if (!opts.create) {
    throw new NotFoundError(
      `no dataset table "${opts.table}"`,
      `create it with \`mldb create-table ${opts.table}\`, or pass --create`,
    );
  }
  const s = opts.shape;
  const shape = s?.height && s.width ? { height: s.height, width: s.width, channels: s.channels ?? 1 } : undefined;
  return createDataset(db, opts.table, {
    shape,
    testFraction: opts.testFraction,
    validationFraction: opts.validationFraction,
  });
}

interface ReadFile {
  file: LabeledFile;
  sha: Buffer;
  bytes: Buffer;
}

/** The same image stored (or seen) under another label: a labelling problem worth showing. */
export interface LabelConflict {
  path: string;
  label: string;
  /** The label the identical image already has. */
  existingLabel: string;
  /** Where that image came from (its source path in the table, or a file of this import). */
  existingSource: string;
}

interface Deduped {
  fresh: ReadFile[];
  /** Already in the table before this import. */
  present: number;
  /** Identical to another file of this same import. */
  duplicates: number;
  conflicts: LabelConflict[];
}

/** Reads and hashes a chunk; drops files already in the table or already seen in this run. */
async function readAndDedupe(
  db: Db,
  table: string,
  chunk: LabeledFile[],
  seen: Map<string, LabeledFile>,
  rejected: Rejection[],
): Promise<Deduped> {
  const out: Deduped = { fresh: [], present: 0, duplicates: 0, conflicts: [] };
  const read: ReadFile[] = [];
  for (const file of chunk) {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file.path);
    } catch (e) {
      rejected.push({ path: file.path, reason: `cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
      continue;
    }
    if (bytes.length === 0) {
      rejected.push({ path: file.path, reason: 'empty file' });
      continue;
    }
    const sha = crypto.createHash('sha256').update(bytes).digest();
    const key = sha.toString('hex');
    const earlier = seen.get(key);
    if (earlier) {
      out.duplicates++;
      if (earlier.label !== file.label) {
        out.conflicts.push({
          path: file.path,
          label: file.label,
          existingLabel: earlier.label,
          existingSource: earlier.relative,
        });
      }
      continue;
    }
    seen.set(key, file);
    read.push({ file, sha, bytes });
  }
  if (read.length === 0) return out;
  const known = await db.query<{ sha256: Buffer; label: string; source: string }>(
    `SELECT sha256, label, source FROM ${table} WHERE sha256 IN (?)`,
    [read.map((r) => r.sha)],
  );
  const byHash = new Map(known.map((k) => [k.sha256.toString('hex'), k]));
  for (const r of read) {
    const existing = byHash.get(r.sha.toString('hex'));
    if (!existing) {
      out.fresh.push(r);
      continue;
    }
    out.present++;
    if (existing.label !== r.file.label) {
      out.conflicts.push({
        path: r.file.path,
        label: r.file.label,
        existingLabel: existing.label,
        existingSource: existing.source,
      });
    }
  }
  return out;
}

async function decodeOrReject(item: ReadFile, rejected: Rejection[]): Promise<DecodedImage | undefined> {
  try {
    return await decodeImage(item.bytes);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    rejected.push({ path: item.file.path, reason: e.message });
    return undefined;
  }
}

async function insertRows(db: Db, table: string, rows: PreparedRow[], dataset: Dataset): Promise<number> {
  const shape = dataset.shape;
  if (!shape) throw new InvalidDataError('internal: inserting rows before the dataset has a shape');
  const values = rows.map((r) => [
    r.file.label,
    splitFor(r.sha, dataset.testFraction, dataset.validationFraction),
    r.sha,
    r.file.relative,
    r.format,
    r.width,
    r.height,
    r.bytes,
    Buffer.from(r.pixels.buffer, r.pixels.byteOffset, r.pixels.byteLength),
  ]);
  // ON DUPLICATE KEY keeps a concurrent import of the same files from failing the batch.
  const res = await db.run(
    `INSERT INTO ${table} (label, split, sha256, source, format, orig_width, orig_height, original, pixels)
     VALUES ? ON DUPLICATE KEY UPDATE id = id`,
    [values],
  );
  return res.affectedRows;
}
