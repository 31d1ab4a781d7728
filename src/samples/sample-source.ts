import { countRows } from '../db/table-stats';
import { pixelsByIds } from '../db/pixel-reads';
import { type PixelFilter } from '../db/row-selection';
import type { Db } from '../db/db';
import { pixelsByIdsRouted } from '../db/shard-reads';
import { shardMap, type Shard } from '../db/sharding';
import { InvalidDataError } from '../errors';
import { valuesPerImage, type ImageShape } from '../image-shape';
import {
  checkPixelLength,
  readPixelMatrix,
  readRowIndex,
  scalePixels,
  scaleRows,
  type PixelMatrix,
  type RowIndex,
} from './pixel-matrix';

/** A batch of samples: floats N×H×W×C in [0, 1], and which rows (positions in the index) they are. */
export interface SampleBatch {
  xs: Float32Array;
  positions: ArrayLike<number>;
}

/**
 * The rows a model trains or evaluates on. Callers choose the order (a seeded permutation of
 * positions in `index`); the source hands back batches in exactly that order, so a streamed run
 * and an in-memory run with the same seed see the same batches and reach the same metrics.
 */
export interface SampleSource {
  readonly index: RowIndex;
  readonly shape: ImageShape;
  /** Whether pixels are fetched chunk by chunk instead of held whole. */
  readonly streaming: boolean;
  /** Rows per database read when streaming. */
  readonly chunkRows: number;
  batches(positions: ArrayLike<number>, batchSize: number): AsyncGenerator<SampleBatch>;
}

/** Bytes a sample takes as floats: what a streamed chunk holds per row. */
export function bytesPerSample(shape: ImageShape): number {
  return valuesPerImage(shape) * Float32Array.BYTES_PER_ELEMENT;
}

/** Bytes a sample takes in memory as stored (a byte per value), plus the one batch of floats made from it. */
export function bytesInMemory(shape: ImageShape): number {
  return valuesPerImage(shape);
}

/** Every row's stored pixels in one buffer; batches are gathered from it and scaled to floats. */
export class MemorySource implements SampleSource {
  readonly streaming = false;
  readonly index: RowIndex;
  readonly chunkRows: number;

  constructor(
    private readonly matrix: PixelMatrix,
    readonly shape: ImageShape,
  ) {
    this.index = matrix;
    this.chunkRows = matrix.count;
  }

  async *batches(positions: ArrayLike<number>, batchSize: number): AsyncGenerator<SampleBatch> {
    const per = valuesPerImage(this.shape);
    for (let from = 0; from < positions.length; from += batchSize) {
      const batch = Array.prototype.slice.call(
        positions,
        from,
        Math.min(positions.length, from + batchSize),
      ) as number[];
      yield { xs: scaleRows(this.matrix, batch, per), positions: batch };
    }
  }
}

/**
 * Pixels fetched by primary key, one chunk of the requested order at a time, the next chunk read
 * while the current one trains. At most two chunks are alive: memory is bounded by the budget
 * whatever the table's size. A sharded table's chunk is asked of every backend directly, each for
 * its own rows (found from their content hashes), all at once.
 */
export class StreamingSource implements SampleSource {
  readonly streaming = true;

  constructor(
    private readonly db: Db,
    private readonly table: string,
    readonly index: RowIndex,
    readonly shape: ImageShape,
    readonly chunkRows: number,
    private readonly shards: readonly Shard[] = [],
    /** The table version read (rows removed since come from history), or unset: the current rows. */
    private readonly asOf?: number,
  ) {}

  private async fetch(positions: number[]): Promise<Float32Array> {
    const per = valuesPerImage(this.shape);
    const ids = positions.map((p) => this.index.ids[p]);
    const byId =
      this.shards.length > 0
        ? await pixelsByIdsRouted(
            this.db,
            this.table,
            ids,
            positions.map((p) => this.index.hashes[p]),
            this.shards,
          )
        : await pixelsByIds(this.db, this.table, ids, this.asOf);
    const xs = new Float32Array(positions.length * per);
    ids.forEach((id, i) => {
      const pixels = byId.get(id);
      if (!pixels)
        throw new InvalidDataError(
          `row ${id} of "${this.table}" disappeared while training`,
          'do not delete rows from a table that is being trained on; run again',
        );
      checkPixelLength(this.table, id, pixels, per);
      scalePixels(pixels, xs, i * per);
    });
    return xs;
  }

  async *batches(positions: ArrayLike<number>, batchSize: number): AsyncGenerator<SampleBatch> {
    const per = valuesPerImage(this.shape);
    // Whole batches per chunk, so that batch boundaries match the in-memory source.
    const rowsPerChunk = Math.max(batchSize, Math.floor(this.chunkRows / batchSize) * batchSize);
    const chunkAt = (from: number) =>
      Array.prototype.slice.call(positions, from, Math.min(positions.length, from + rowsPerChunk)) as number[];
    let next: Promise<Float32Array> | undefined = positions.length > 0 ? this.fetch(chunkAt(0)) : undefined;
    for (let from = 0; from < positions.length; from += rowsPerChunk) {
      const chunk = chunkAt(from);
      const xs = await next!;
      // Read ahead: the database works while the caller trains on this chunk.
      next = from + rowsPerChunk < positions.length ? this.fetch(chunkAt(from + rowsPerChunk)) : undefined;
      next?.catch(() => {}); // surfaced when awaited; never an unhandled rejection
      for (let b = 0; b < chunk.length; b += batchSize) {
        const end = Math.min(chunk.length, b + batchSize);
        yield { xs: xs.subarray(b * per, end * per), positions: chunk.slice(b, end) };
      }
    }
  }
}

export interface SourceOptions {
  /** Bytes the samples may take in memory; above it the rows are streamed. */
  memoryBudget: number;
  /** Smallest useful chunk when streaming (a batch). */
  batchSize: number;
  /** Readers of a table on one server (bulk-read.ts; default from the cores). */
  readParallelism?: number;
}

/**
 * Chooses in-memory when the rows' tensors fit the budget, else streaming in chunks sized so that
 * two (the one training and the one being read) fit it.
 */
export async function openSampleSource(
  db: Db,
  table: string,
  shape: ImageShape,
  filter: PixelFilter,
  opts: SourceOptions,
): Promise<SampleSource> {
  const count = await countRows(db, table, filter);
  if (count * bytesInMemory(shape) <= opts.memoryBudget) {
    return new MemorySource(await readPixelMatrix(db, table, shape, filter, count, opts.readParallelism), shape);
  }
  const index = await readRowIndex(db, table, filter);
  const chunkRows = Math.max(opts.batchSize, Math.floor(opts.memoryBudget / 2 / bytesPerSample(shape)));
  // Capped so that one IN (…) list stays a modest statement.
  // An old version's rows removed since are in history on the head: its chunks are read through the head.
  const shards = filter.asOf === undefined ? await shardMap(db, table) : [];
  return new StreamingSource(db, table, index, shape, Math.min(chunkRows, 8192), shards, filter.asOf);
}
