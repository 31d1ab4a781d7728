import { knownHashes, ROW_SQL_OVERHEAD, type KnownHashes, type NewRow } from '../db/row-writes';
import type { Db } from '../db/db';
import { retryOnLockConflict } from '../db/transient';
import { recordImportFindings, type ImportFinding } from '../db/import-findings';
import { insertRowsRouted, knownHashesRouted } from '../db/shard-writes';
import { insertVersioned } from '../db/versioned-writes';
import { shardMap } from '../db/sharding';
import { createDataset, findDataset, fixShape, type Dataset } from '../db/registry';
import type { Split } from '../db/enums';
import { NotFoundError, UsageError } from '../errors';
import { canonicalLabel, MAX_LABEL_LENGTH } from '../labels';
import type { ImageFormat } from '../images/formats';
import type { ReadOutcome, ShapedOutcome } from './prepare-image';
import { openPreparer, type Preparer } from './prepare-pool';
import { importThreads } from '../config';
import type { ImageShape } from '../image-shape';
import { decodeImage, DecodeError, isGrayRgb, shapeOf, toShape, type DecodedImage } from '../images/decode';
import type { Layout } from './layout';
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
  /** Every image goes to this split (e.g. an official test set), whatever the layout or hash says. */
  split?: Split;
  /**
   * A sharded table: write each batch's parts straight to their backends (default), or all through
   * the head (false; what `npm run bench -- shards` compares against).
   */
  routeShardWrites?: boolean;
  /** What the versions each batch makes say it was (default `import`; `predictions promote` says `promote`). */
  versionKind?: 'import' | 'promote';
  /** Images whose header declares more pixels are rejected before decoding (MAX_PIXELS by default). */
  maxPixels?: number;
  /** How a folder names labels (layout.ts); `auto` by default. */
  layout?: Layout;
  /**
   * Threads that read, hash and decode (1: the import's own; more: a pool of workers, the import's
   * thread then deduplicating, batching and writing); MLDB_IMPORT_THREADS, else config.importThreads.
   * The rows are the same either way.
   */
  threads?: number;
  /** Threads already open (the watch keeps one pool for all its batches); left open afterwards. */
  preparer?: Preparer;
  /**
   * Called when images are safely in the table: after their INSERT committed, or at once when
   * they were already there. What a watch needs to move or forget files.
   */
  onStored?: (items: readonly ImportItem[]) => void;
  onProgress?: (p: ImportProgress) => void;
  /** Called once when the dataset's shape is completed from the first image. */
  onShape?: (shape: ImageShape, note: ShapeNote) => void;
  /**
   * Polled between chunks of files: true ends the import after the batches already made are
   * written (each one whole), with `stopped` set. Running it again stores the rest.
   */
  shouldStop?: () => boolean;
}

export interface ImportProgress {
  done: number;
  /** Unknown for streams (archives, stdin). */
  total?: number;
  imported: number;
  alreadyPresent: number;
  rejected: number;
  elapsedSeconds: number;
}

export interface ImportSummary {
  table: string;
  /** The layout that was read (`auto` resolved); absent for sources without folders. */
  layout?: 'labels' | 'splits';
  shape: ImageShape | null;
  /** True when this import completed the dataset's shape from its first image. */
  shapeFromFirstImage: boolean;
  /**
   * The first image was stored with 3 channels although every pixel is gray (R = G = B): many
   * tools save grayscale as RGB. `channels: 1` would store a third of the bytes and train ~3× faster.
   */
  grayStoredAsRgb: boolean;
  files: number;
  imported: number;
  /** Already in the table before this import (a re-import adds nothing). */
  alreadyPresent: number;
  /** Files identical to another file of this import: stored once. */
  duplicates: number;
  /** Identical images under different labels: the first label seen is kept. */
  conflicts: LabelConflict[];
  /** Labels as a source spelled them and as they are stored (canonicalLabel), where they differ. */
  labelsRespelled: LabelRespelling[];
  rejected: Rejection[];
  seconds: number;
  imagesPerSecond: number;
  /** Ended early by `shouldStop` (a signal): the files not reached are not counted anywhere. */
  stopped?: boolean;
  /**
   * Why the conflicts and duplicates were not kept in mldb_import_findings (a user without INSERT
   * there): the rows are stored all the same, and the import says so instead of failing.
   */
  findingsNotKept?: string;
}

export interface LabelRespelling {
  from: string;
  to: string;
}

/** What the first image says about the shape it fixed. */
export interface ShapeNote {
  /** Which parts came from the image (the rest were given). */
  fromImage: (keyof ImageShape)[];
  grayStoredAsRgb: boolean;
}

/** Files read, hashed and checked against the table per round trip. */
const CHUNK_FILES = 512;
/** Bytes of in-memory files (archive entries, stdin, the watch) taken per pass at most. */
const CHUNK_BYTES = 64 * 1024 * 1024;
/** The dataset tables' `source` column is VARCHAR(1024). */
const MAX_SOURCE_CHARS = 1024;
/** Below this many files an import reads and decodes on its own thread, whatever the threads asked. */
const SMALL_IMPORT_FILES = 256;
/** Upper bound on rows per INSERT, whatever their size. */
const MAX_BATCH_ROWS = 2000;

/**
 * The original's InsertData2Table, done safely: every file is hashed, known hashes are skipped,
 * new images are decoded to the dataset's shape and written in multi-row INSERTs sized under the
 * server's max_allowed_packet. Each INSERT is one atomic statement, so a killed import leaves
 * only whole batches, and re-running it finishes the job without duplicates.
 */
export async function importFolder(db: Db, dir: string, opts: ImportOptions): Promise<ImportSummary> {
  // The table first: a bad name or a missing table is reported before any folder is walked.
  const dataset = await openDataset(db, opts);
  const walk = walkLabeledFolder(dir, opts.layout);
  const summary = await importFromSource(
    db,
    dataset,
    { items: walk.files, rejected: walk.rejected, total: walk.files.length },
    opts,
  );
  return { ...summary, layout: walk.layout };
}

/** Images from anywhere: a list, an archive being read, a manifest. */
export interface ItemSource {
  items: Iterable<ImportItem> | AsyncIterable<ImportItem>;
  /** Entries the source could not use; it may add to it while it is read. */
  rejected: Rejection[];
  /** How many items there will be, when known in advance (for the progress display). */
  total?: number;
}

/**
 * An image to import from anywhere: a walked file (read when its turn comes), or bytes already
 * in memory (`bytes`, e.g. a corrected prediction's logged input), with the label it goes under.
 */
export interface ImportItem extends LabeledFile {
  bytes?: Buffer;
}

/** Any source (archive, stream, manifest) into a dataset table, creating it when asked. */
export async function importSource(db: Db, source: ItemSource, opts: ImportOptions): Promise<ImportSummary> {
  return importFromSource(db, await openDataset(db, opts), source, opts);
}

/**
 * Imports labelled images that are not files of a folder, through the same path as a folder:
 * hashed, deduplicated against the table, decoded, split by hash, batched.
 */
export async function importImages(db: Db, items: ImportItem[], opts: ImportOptions): Promise<ImportSummary> {
  return importSource(db, { items, rejected: [], total: items.length }, opts);
}

/**
 * Items taken from a source per pass: enough to amortise a dedupe query, little enough to hold.
 * Sources that carry their bytes (archives, stdin, the watch) are cut by bytes too: a small zip
 * whose entries inflate to tens of MB each must not be held hundreds of entries at a time.
 */
async function* inChunks<T extends { bytes?: Buffer }>(
  items: Iterable<T> | AsyncIterable<T>,
  size: number,
  maxBytes: number,
): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  let bytes = 0;
  for await (const item of items) {
    chunk.push(item);
    bytes += item.bytes?.length ?? 0;
    if (chunk.length >= size || bytes >= maxBytes) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * The one import pipeline. `dataset` comes from openDataset (a watch opens it once and calls
 * this per batch). Rejections the source adds while it is read are reported with the rest.
 */
export async function importFromSource(
  db: Db,
  dataset: Dataset,
  source: ItemSource,
  opts: ImportOptions,
): Promise<ImportSummary> {
  const started = Date.now();
  const run = new SourceImport(dataset, source, opts, await writeTarget(db, dataset, opts), started);
  // Starting threads (each loads the decoders) costs more than a small import takes on one.
  const small = source.total !== undefined && source.total < SMALL_IMPORT_FILES;
  const preparer = opts.preparer ?? openPreparer(small ? 1 : (opts.threads ?? importThreads()));
  try {
    await run.readAll(preparer);
  } finally {
    if (!opts.preparer) await preparer.close();
  }
  await run.settle();
  const findingsNotKept = await keepFindings(db, opts.table, run.findings);
  run.report();
  return run.summary(findingsNotKept);
}

/** Where rows go and how known hashes are looked up: straight to a sharded table's backends, or the table. */
interface WriteTarget {
  db: Db;
  packet: number;
  lookup: (hashes: Buffer[]) => Promise<KnownHashes>;
  write: (rows: NewRow[]) => Promise<number>;
}

async function writeTarget(db: Db, dataset: Dataset, opts: ImportOptions): Promise<WriteTarget> {
  const table = opts.table;
  const packet = await db.maxAllowedPacket();
  // A sharded table: each batch goes straight to the backends that hold its rows.
  const shards = dataset.shards !== null ? await shardMap(db, table) : [];
  return {
    db,
    packet,
    lookup: (hashes) =>
      shards.length > 0 ? knownHashesRouted(db, table, hashes, shards) : knownHashes(db, table, hashes),
    write: (rows) =>
      shards.length > 0
        ? insertRowsRouted(db, table, rows, shards, { direct: opts.routeShardWrites !== false })
        : insertVersioned(db, table, rows, opts.versionKind ?? 'import'),
  };
}

/** A chunk whose new images are being decoded, and what to count once its rows are made. */
interface Decoding {
  size: number;
  rest: ReadFile[];
  target?: ImageShape;
  shaped: Promise<ShapedOutcome[]>;
}

/** One importFromSource call: its counts, the batch being filled, and the INSERT in flight. */
class SourceImport {
  shape: ImageShape | null;
  /** The source's own list, so rejections it adds while being read are counted too. */
  readonly rejected: Rejection[];
  readonly budget: number;
  shapeFromFirstImage = false;
  grayStoredAsRgb = false;
  imported = 0;
  alreadyPresent = 0;
  done = 0;
  duplicates = 0;
  files = 0;
  stopped = false;
  readonly conflicts: LabelConflict[] = [];
  readonly findings: ImportFinding[] = [];
  readonly seen = new Map<string, LabeledFile>();
  readonly respelled = new Map<string, string>();
  private batch: NewRow[] = [];
  private batchItems: ImportItem[] = [];
  private batchBytes = 0;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly dataset: Dataset,
    private readonly source: ItemSource,
    private readonly opts: ImportOptions,
    private readonly target: WriteTarget,
    private readonly started: number,
  ) {
    this.shape = dataset.shape;
    this.rejected = source.rejected;
    this.budget = Math.floor(target.packet * 0.9) - 4096;
  }

  report(): void {
    this.opts.onProgress?.({
      done: this.done,
      total: this.source.total,
      imported: this.imported,
      alreadyPresent: this.alreadyPresent + this.duplicates,
      rejected: this.rejected.length,
      elapsedSeconds: (Date.now() - this.started) / 1000,
    });
  }

  /**
   * Reads the source chunk by chunk. Three stages overlap: chunk k+1 is read and hashed, chunk k
   * decoded, and chunk k-1's rows made and written, on the pool's threads, this thread and the
   * server at once, so the threads wait on neither the server nor the batching.
   */
  async readAll(preparer: Preparer): Promise<void> {
    const chunks = inChunks(this.source.items, CHUNK_FILES, CHUNK_BYTES)[Symbol.asyncIterator]();
    const readNext = async (): Promise<ReadChunk | undefined> => {
      const pulled = await chunks.next();
      if (pulled.done) return undefined;
      const items = withCanonicalLabels(pulled.value, this.respelled, this.rejected);
      return readChunk(preparer, items, pulled.value.length, this.rejected, {
        budget: this.budget,
        packet: this.target.packet,
      });
    };
    let decoding: Decoding | undefined;
    for (let ahead = await readNext(); ahead;) {
      if (this.opts.shouldStop?.()) {
        this.stopped = true;
        break;
      }
      const current = ahead;
      this.files += current.size;
      const outcomes = await current.outcomes;
      const following = readNext();
      following.catch(() => undefined); // awaited below; a failure meanwhile is not "unhandled"
      const fresh = await this.dedupe(current.items, outcomes);
      // The table's shape, when it has none yet, comes from the first image: that one alone,
      // here, after the rows before it.
      let next = 0;
      if (!this.shape && fresh.length > 0 && decoding) {
        await this.addRows(decoding);
        decoding = undefined;
      }
      while (!this.shape && next < fresh.length) await this.fixShapeFrom(fresh[next++]);
      const decodingNow = this.startDecoding(preparer, current.size, fresh.slice(next));
      if (decoding) await this.addRows(decoding);
      decoding = decodingNow;
      ahead = await following;
    }
    if (decoding) await this.addRows(decoding);
  }

  private async dedupe(items: ImportItem[], outcomes: ReadOutcome[]): Promise<ReadFile[]> {
    const deduped = await dedupe(this.target.lookup, items, outcomes, this.seen, this.rejected, this.target.packet);
    this.alreadyPresent += deduped.present;
    this.duplicates += deduped.duplicates;
    this.conflicts.push(...deduped.conflicts);
    this.findings.push(...deduped.findings);
    if (deduped.stored.length > 0) this.opts.onStored?.(deduped.stored);
    return deduped.fresh;
  }

  private startDecoding(preparer: Preparer, size: number, rest: ReadFile[]): Decoding {
    const target = this.shape ?? undefined;
    const shaped =
      target && rest.length > 0
        ? preparer.decodeAndShape(
            rest.map((r) => r.bytes),
            target,
            this.opts.maxPixels,
          )
        : Promise.resolve([]);
    shaped.catch(() => undefined); // awaited by addRows
    return { size, rest, target, shaped };
  }

  /** Rows of a decoded chunk, in file order, into batches (which write as they fill). */
  private async addRows(d: Decoding): Promise<void> {
    for (const [i, outcome] of (await d.shaped).entries()) {
      const item = d.rest[i];
      if ('pixels' in outcome) await this.addRow(item, outcome, outcome.pixels);
      else if (outcome.failure === 'internal') throw new Error(outcome.message);
      else
        this.rejected.push({
          path: item.file.path,
          reason: outcome.failure === 'undecodable' ? outcome.message : resizeFailure(d.target!, outcome.message),
        });
    }
    this.done += d.size;
    this.report();
  }

  /**
   * The first image of a table without a shape fixes it: decoded alone, here, before the rest.
   * Returns false when it could not be used (rejected), so the next one is tried.
   */
  private async fixShapeFrom(item: ReadFile): Promise<boolean> {
    const decoded = await decodeOrReject(item, this.rejected, this.opts.maxPixels);
    if (!decoded) return false;
    const given = { ...this.dataset.shapeParts, ...definedParts(this.opts.shape) };
    const wanted = { ...shapeOf(decoded), ...given };
    // A shape whose pixels alone cannot go in one row would make every later row fail too:
    // this image is refused and the shape stays open for the next one (or a --size).
    const pixelBytes = wanted.height * wanted.width * wanted.channels;
    if (2 * pixelBytes + ROW_SQL_OVERHEAD > this.budget) {
      this.rejected.push({
        path: item.file.path,
        reason:
          `at ${wanted.height}x${wanted.width}x${wanted.channels} its pixels alone take ${mib(pixelBytes)}, more ` +
          `than one row can carry (max_allowed_packet ${mib(this.target.packet)}): give the table a smaller --size`,
      });
      return false;
    }
    const shape = await retryOnLockConflict(() => fixShape(this.target.db, this.opts.table, wanted));
    this.shape = shape;
    this.shapeFromFirstImage = true;
    this.grayStoredAsRgb = shape.channels === 3 && given.channels === undefined && isGrayRgb(decoded.rgb);
    const fromImage = (['height', 'width', 'channels'] as const).filter((k) => given[k] === undefined);
    this.opts.onShape?.(shape, { fromImage, grayStoredAsRgb: this.grayStoredAsRgb });
    const pixels = await resizeOrReject(item, decoded, shape, this.rejected);
    if (pixels) await this.addRow(item, decoded, pixels);
    return true;
  }

  /** A decoded image at the table's shape, checked against what one row can carry, then batched. */
  private async addRow(
    item: ReadFile,
    image: { format: ImageFormat; width: number; height: number },
    pixels: Uint8Array,
  ): Promise<void> {
    const size = 2 * (item.bytes.length + pixels.length) + ROW_SQL_OVERHEAD;
    if (size > this.budget) {
      // Say what to change: the file itself is too big for a row, or only together with its pixels.
      const packet = this.target.packet;
      this.rejected.push({
        path: item.file.path,
        reason:
          2 * item.bytes.length + ROW_SQL_OVERHEAD > this.budget
            ? tooLargeForServer(item.bytes.length, packet)
            : `${mib(item.bytes.length)} file plus ${mib(pixels.length)} of pixels is more than one row can carry ` +
              `(max_allowed_packet ${mib(packet)}): raise max_allowed_packet or import at a smaller --size`,
      });
      return;
    }
    if (this.batch.length >= MAX_BATCH_ROWS || this.batchBytes + size > this.budget) await this.flush();
    const { testFraction, validationFraction } = this.dataset;
    this.batch.push({
      label: item.file.label,
      split: this.opts.split ?? item.file.split ?? splitFor(item.sha, testFraction, validationFraction),
      sha256: item.sha,
      source: item.file.relative,
      format: image.format,
      width: image.width,
      height: image.height,
      original: item.bytes,
      pixels,
    });
    this.batchItems.push(item.file);
    this.batchBytes += size;
  }

  private async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const rows = this.batch;
    const items = this.batchItems;
    this.batch = [];
    this.batchItems = [];
    this.batchBytes = 0;
    if (this.inFlight) await this.inFlight;
    // The INSERT runs on the server while the next chunk is read and decoded here. Its failure
    // surfaces at the next await of inFlight; the no-op catch keeps it from being "unhandled"
    // (which would end the process) while decoding goes on in between.
    const inFlight = retryOnLockConflict(() => this.target.write(rows)).then((n) => {
      this.imported += n;
      this.alreadyPresent += rows.length - n;
      this.opts.onStored?.(items);
    });
    this.inFlight = inFlight;
    inFlight.catch(() => undefined);
  }

  /** Writes the last batch and waits for every INSERT. */
  async settle(): Promise<void> {
    await this.flush();
    if (this.inFlight) await this.inFlight;
  }

  summary(findingsNotKept: string | undefined): ImportSummary {
    const seconds = (Date.now() - this.started) / 1000;
    return {
      table: this.opts.table,
      shape: this.shape,
      shapeFromFirstImage: this.shapeFromFirstImage,
      grayStoredAsRgb: this.grayStoredAsRgb,
      files: this.files,
      imported: this.imported,
      alreadyPresent: this.alreadyPresent,
      duplicates: this.duplicates,
      conflicts: this.conflicts,
      labelsRespelled: [...this.respelled].map(([from, to]) => ({ from, to })),
      ...(findingsNotKept ? { findingsNotKept } : {}),
      rejected: this.rejected,
      seconds,
      imagesPerSecond: this.files / Math.max(seconds, 1e-6),
      ...(this.stopped && { stopped: this.stopped }),
    };
  }
}

function definedParts(shape: Partial<ImageShape> | undefined): Partial<ImageShape> {
  return Object.fromEntries(Object.entries(shape ?? {}).filter(([, v]) => v !== undefined));
}

function tooLargeForServer(fileBytes: number, packet: number): string {
  return (
    `too large for the server (${mib(fileBytes)} file; max_allowed_packet is ${mib(packet)}): ` +
    'raise max_allowed_packet'
  );
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** The shape the caller asks for must agree with every part the dataset already has. */
function checkRequestedShape(table: string, have: Partial<ImageShape>, want: Partial<ImageShape> | undefined): void {
  const clash = (['height', 'width', 'channels'] as const).find(
    (k) => want?.[k] !== undefined && have[k] !== undefined && want[k] !== have[k],
  );
  if (clash) {
    const shown = (p: Partial<ImageShape>) => `${p.height ?? '?'}x${p.width ?? '?'}x${p.channels ?? '?'}`;
    throw new UsageError(
      `table "${table}" stores images at ${shown(have)}, not the requested ` +
        `${shown({ ...have, ...definedParts(want) })}`,
      'leave the shape out, or import into a new table',
      { field: clash === 'channels' ? 'channels' : 'size', subject: table },
    );
  }
}

/**
 * The dataset an import writes to: checked against the options, or created with --create. Several
 * imports may create the same table at once: whoever loses the race (the table or its registry
 * row appeared meanwhile) waits for the winner's registry row and uses that dataset.
 */
export async function openDataset(db: Db, opts: ImportOptions): Promise<Dataset> {
  for (let attempt = 1; ; attempt++) {
    const existing = await findDataset(db, opts.table);
    if (existing) return checkExisting(existing, opts);
    if (!opts.create) {
      throw new NotFoundError(`no dataset table "${opts.table}"`, 'create it first', {
        reason: 'dataset-missing-import',
        subject: opts.table,
      });
    }
    try {
      return await createDataset(db, opts.table, {
        shape: definedParts(opts.shape),
        testFraction: opts.testFraction,
        validationFraction: opts.validationFraction,
      });
    } catch (e) {
      if (attempt >= CREATE_ATTEMPTS || !lostCreateRace(e)) throw e;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

/** Tries to see another process's new table through, before "already exists" is believed. */
const CREATE_ATTEMPTS = 8;

function lostCreateRace(e: unknown): boolean {
  const reason = (e as { reason?: string }).reason;
  if (reason === 'dataset-exists' || reason === 'table-exists-foreign') return true;
  const code = ((e as { cause?: { code?: string } }).cause ?? (e as { code?: string }))?.code;
  return code === 'ER_TABLE_EXISTS_ERROR' || code === 'ER_DUP_ENTRY';
}

function checkExisting(existing: Dataset, opts: ImportOptions): Dataset {
  checkRequestedShape(opts.table, existing.shape ?? existing.shapeParts, opts.shape);
  if (
    (opts.testFraction !== undefined && opts.testFraction !== existing.testFraction) ||
    (opts.validationFraction !== undefined && opts.validationFraction !== existing.validationFraction)
  ) {
    throw new UsageError(
      `table "${opts.table}" already splits test ${existing.testFraction} / validation ` +
        `${existing.validationFraction}`,
      'split fractions are fixed when a table is created: leave them out, or import into a new table',
      { field: 'testFraction', subject: opts.table },
    );
  }
  return existing;
}

interface ReadFile {
  file: ImportItem;
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
  /** Items whose image is already stored (in the table, or earlier in this import). */
  stored: ImportItem[];
  /** Already in the table before this import. */
  present: number;
  /** Identical to another file of this same import. */
  duplicates: number;
  conflicts: LabelConflict[];
  /** The conflicts and duplicates as the table of findings keeps them (sources relative). */
  findings: ImportFinding[];
}

/** Keeps what the import found; a user who may not is told why, and the import still succeeds. */
async function keepFindings(db: Db, table: string, findings: ImportFinding[]): Promise<string | undefined> {
  try {
    await recordImportFindings(db, table, findings);
    return undefined;
  } catch (e) {
    if ((e as { reason?: string }).reason === 'privilege-missing') return (e as Error).message;
    throw e;
  }
}

/**
 * A file whose image is already kept (earlier in `this import`, or in `the table`): under another
 * label it is a conflict, reported and recorded; under the same label in this import, a duplicate
 * file, recorded (one already in the table is a re-import, which is neither).
 */
function noteSameImage(
  out: Deduped,
  file: LabeledFile,
  kept: { label: string; source: string },
  keptBy: 'this import' | 'the table',
): void {
  const conflict = kept.label !== file.label;
  if (!conflict && keptBy === 'the table') return;
  out.findings.push({
    kind: conflict ? 'conflict' : 'duplicate',
    source: file.relative,
    label: file.label,
    keptSource: kept.source,
    keptLabel: kept.label,
  });
  if (conflict)
    out.conflicts.push({ path: file.path, label: file.label, existingLabel: kept.label, existingSource: kept.source });
}

/**
 * Every item under its label's one spelling (canonicalLabel), each respelling noted once so the
 * import can say so; a label that is only white space is no label, and its items are rejected.
 */
function withCanonicalLabels(chunk: ImportItem[], respelled: Map<string, string>, rejected: Rejection[]): ImportItem[] {
  const kept: ImportItem[] = [];
  for (const item of chunk) {
    const label = canonicalLabel(item.label);
    if (label === item.label) kept.push(item);
    else if (label === '') rejected.push({ path: item.path, reason: 'the label is empty once white space is trimmed' });
    else {
      respelled.set(item.label, label);
      kept.push({ ...item, label });
    }
  }
  return kept;
}

/** Bytes that came back from a worker thread arrive as a plain Uint8Array: viewed as a Buffer, not copied. */
function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function readFailure(outcome: Exclude<ReadOutcome, { bytes: Uint8Array }>, packet: number): string {
  switch (outcome.failure) {
    case 'too-large':
      return tooLargeForServer(outcome.size, packet);
    case 'not-regular':
      return 'not a regular file';
    case 'unreadable':
      return `cannot read (${outcome.code})`;
    case 'empty':
      return 'empty file';
  }
  throw new Error('unknown read failure');
}

/** A chunk of items whose reading and hashing has started. */
interface ReadChunk {
  /** Items taken from the source (rejected ones included): what progress counts. */
  size: number;
  items: ImportItem[];
  outcomes: Promise<ReadOutcome[]>;
}

/** Refuses what a row's columns cannot hold, and starts reading and hashing the rest. */
function readChunk(
  preparer: Preparer,
  chunk: ImportItem[],
  size: number,
  rejected: Rejection[],
  limits: { budget: number; packet: number },
): ReadChunk {
  // A file that cannot go in one row is refused by its size, before it is read (or decoded).
  const maxFileBytes = Math.floor((limits.budget - ROW_SQL_OVERHEAD) / 2);
  // What the row's columns cannot hold would fail its whole batch: refused here, for every source.
  const items = chunk.filter((file) => {
    if ([...file.relative].length > MAX_SOURCE_CHARS) {
      rejected.push({ path: file.path, reason: `path longer than ${MAX_SOURCE_CHARS} characters` });
      return false;
    }
    if ([...file.label].length > MAX_LABEL_LENGTH) {
      rejected.push({ path: file.path, reason: `label longer than ${MAX_LABEL_LENGTH} characters` });
      return false;
    }
    return true;
  });
  const outcomes = preparer.readAndHash(items, maxFileBytes);
  outcomes.catch(() => undefined); // awaited by the loop; a failure before that is not "unhandled"
  return { size, items, outcomes };
}

/** Drops files already in the table or already seen in this run; the rest are new images. */
async function dedupe(
  lookup: (hashes: Buffer[]) => Promise<KnownHashes>,
  fits: ImportItem[],
  outcomes: ReadOutcome[],
  seen: Map<string, LabeledFile>,
  rejected: Rejection[],
  packet: number,
): Promise<Deduped> {
  const out: Deduped = { fresh: [], stored: [], present: 0, duplicates: 0, conflicts: [], findings: [] };
  const read: ReadFile[] = [];
  for (const [i, file] of fits.entries()) {
    const outcome = outcomes[i];
    if ('failure' in outcome) {
      rejected.push({ path: file.path, reason: readFailure(outcome, packet) });
      continue;
    }
    const bytes = asBuffer(outcome.bytes);
    const sha = asBuffer(outcome.sha);
    const key = sha.toString('hex');
    const earlier = seen.get(key);
    if (earlier) {
      out.duplicates++;
      out.stored.push(file);
      noteSameImage(out, file, { label: earlier.label, source: earlier.relative }, 'this import');
      continue;
    }
    seen.set(key, file);
    read.push({ file, sha, bytes });
  }
  if (read.length === 0) return out;
  const byHash = await lookup(read.map((r) => r.sha));
  for (const r of read) {
    const existing = byHash.get(r.sha.toString('hex'));
    if (!existing) {
      out.fresh.push(r);
      continue;
    }
    out.present++;
    out.stored.push(r.file);
    noteSameImage(out, r.file, existing, 'the table');
  }
  return out;
}

/** A resize that fails (a sharp error on an odd image) rejects that file, not the import. */
async function resizeOrReject(
  item: ReadFile,
  decoded: DecodedImage,
  shape: ImageShape,
  rejected: Rejection[],
): Promise<Uint8Array | undefined> {
  try {
    return await toShape(decoded, shape);
  } catch (e) {
    rejected.push({ path: item.file.path, reason: resizeFailure(shape, firstLine(e)) });
    return undefined;
  }
}

/** Why an image that decoded is refused when it cannot take the table's shape: one wording for both paths. */
function resizeFailure(shape: ImageShape, why: string): string {
  return `cannot resize to ${shape.height}x${shape.width}: ${why}`;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

async function decodeOrReject(
  item: ReadFile,
  rejected: Rejection[],
  maxPixels: number | undefined,
): Promise<DecodedImage | undefined> {
  try {
    return await decodeImage(item.bytes, maxPixels);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    rejected.push({ path: item.file.path, reason: e.message });
    return undefined;
  }
}
