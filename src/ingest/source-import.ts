import type { Db } from '../db/db';
import { ROW_SQL_OVERHEAD, type KnownHashes, type NewRow } from '../db/row-writes';
import { retryOnLockConflict } from '../db/transient';
import type { ImportFinding } from '../db/import-findings';
import { fixShape, type Dataset } from '../db/registry';
import type { ImageFormat } from '../images/formats';
import type { ImageShape } from '../image-shape';
import { isGrayRgb, shapeOf } from '../images/decode';
import { dedupe } from './dedupe';
import type { ImportItem, ImportOptions, ImportSummary, ItemSource, LabelConflict } from './import-types';
import { definedParts } from './open-dataset';
import type { ReadOutcome, ShapedOutcome } from './prepare-image';
import type { Preparer } from './prepare-pool';
import {
  CHUNK_BYTES,
  CHUNK_FILES,
  inChunks,
  readChunk,
  withCanonicalLabels,
  type ReadChunk,
  type ReadFile,
} from './read-chunks';
import { decodeOrReject, mib, resizeFailure, resizeOrReject, tooLargeForServer } from './rejections';
import { splitFor } from './splits';
import type { LabeledFile, Rejection } from './walk-labeled-folder';

/** Upper bound on rows per INSERT, whatever their size. */
const MAX_BATCH_ROWS = 2000;

/** Where rows go and how known hashes are looked up: straight to a sharded table's backends, or the table. */
export interface WriteTarget {
  db: Db;
  packet: number;
  lookup: (hashes: Buffer[]) => Promise<KnownHashes>;
  write: (rows: NewRow[]) => Promise<number>;
}

/** A chunk whose new images are being decoded, and what to count once its rows are made. */
interface Decoding {
  size: number;
  rest: ReadFile[];
  target?: ImageShape;
  shaped: Promise<ShapedOutcome[]>;
}

/** One importFromSource call: its counts, the batch being filled, and the INSERT in flight. */
export class SourceImport {
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
