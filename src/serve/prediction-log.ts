import type { Db } from '../db/db';
import { insertPredictions, PREDICTION_SQL_OVERHEAD, type PredictionLogRow } from '../db/predictions';
import { isTransientDbError } from '../db/transient';

export interface PredictionLogOptions {
  /** Most rows held in memory while the database is slow or away; beyond it rows are dropped and counted. */
  maxQueueRows: number;
  /** Most bytes of logged inputs held in memory (the other bound on the queue). */
  maxQueueBytes: number;
  /** Rows per INSERT at most. */
  maxBatchRows: number;
  /** How long a row waits for others before a write, in ms. */
  flushMs: number;
  /** A write failed: the rows stay queued and are retried with backoff. */
  onWriteError?: (err: unknown, queued: number) => void;
  /** A write succeeded after failures. */
  onRecovered?: (queued: number) => void;
  /** The database refused a row (a value its column cannot hold): it was dropped. */
  onRefused?: (err: unknown, total: number) => void;
  /** A row was dropped because the queue was full. */
  onDropped?: (total: number, queued: number) => void;
  onWritten?: (rows: number) => void;
}

export interface PredictionLogStats {
  queued: number;
  written: number;
  /** Rows the full queue turned away, and rows the database refused (each dropped, never retried). */
  dropped: number;
  /** Of `dropped`: rows the database refused (a value its column cannot hold). */
  refused: number;
  /** Writes are failing now (the database away): health reports degraded. */
  failing: boolean;
  writeErrors: number;
  lastError: string | null;
}

const MAX_BACKOFF_MS = 5000;

/**
 * The service's request log writer: predictions never wait for the database. Rows queue in
 * memory and are written by one loop in multi-row INSERTs; a failed write keeps its rows and is
 * retried with backoff, so rows logged while the database is away arrive when it returns. The
 * queue is bounded in rows and bytes; what does not fit is dropped and counted, never blocks.
 */
export class PredictionLog {
  #queue: PredictionLogRow[] = [];
  #queueBytes = 0;
  #stats: Omit<PredictionLogStats, 'failing'> = {
    queued: 0,
    written: 0,
    dropped: 0,
    refused: 0,
    writeErrors: 0,
    lastError: null,
  };
  /** Ends the wait for a first row (an empty queue). */
  #wake: (() => void) | undefined;
  /** Ends a pause early: only a drain or close does that. */
  #interrupt: (() => void) | undefined;
  #stopping = false;
  #closed = false;
  #loop: Promise<void>;
  #failing = false;
  /** The newest row the database saw was refused: the log is not recording (a missing grant, say). */
  #lastRefused = false;
  /** Ids of the rows whose INSERT is running, and that INSERT. */
  #inFlight = new Set<string>();
  #flight: Promise<void> | undefined;

  constructor(
    private readonly connect: () => Promise<Db>,
    private readonly opts: PredictionLogOptions,
  ) {
    this.#loop = this.#run();
  }

  /** Queues one row; false when it was dropped because the queue is full. */
  push(row: PredictionLogRow): boolean {
    const bytes = row.input?.length ?? 0;
    if (this.#queue.length >= this.opts.maxQueueRows || this.#queueBytes + bytes > this.opts.maxQueueBytes) {
      this.#stats.dropped++;
      this.opts.onDropped?.(this.#stats.dropped, this.#queue.length);
      return false;
    }
    this.#queue.push(row);
    this.#queueBytes += bytes;
    this.#wake?.();
    return true;
  }

  /**
   * Sets the true label of a row still in the queue; false when it is not queued (written or
   * unknown: the caller then sets it in the database). A row whose INSERT is running is waited
   * for first: a label set on a row already sent would be lost.
   */
  async labelQueued(id: string, label: string): Promise<boolean> {
    if (this.#inFlight.has(id)) await this.#flight?.catch(() => undefined);
    const row = this.#queue.find((r) => r.id === id);
    if (!row) return false;
    row.trueLabel = label;
    return true;
  }

  stats(): PredictionLogStats {
    return { ...this.#stats, queued: this.#queue.length, failing: this.#failing || this.#lastRefused };
  }

  /**
   * Stops taking the loop's pauses and writes what is queued, waiting at most `timeoutMs` for a
   * database that is away. Returns how many rows could not be written.
   */
  async drain(timeoutMs: number): Promise<number> {
    this.#stopping = true;
    this.#wake?.();
    this.#interrupt?.();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#loop, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.#closed = true;
    this.#wake?.();
    this.#interrupt?.();
    return this.#queue.length;
  }

  async #run(): Promise<void> {
    let backoff = 100;
    while (!this.#closed && !(this.#stopping && this.#queue.length === 0)) {
      if (this.#queue.length === 0) {
        await new Promise<void>((r) => (this.#wake = r));
        this.#wake = undefined;
        continue;
      }
      // Let a few more rows join the batch, unless shutting down.
      if (!this.#stopping && this.#queue.length < this.opts.maxBatchRows) await this.#pause(this.opts.flushMs);
      const batch = await this.#nextBatch();
      for (const r of batch.rows) this.#inFlight.add(r.id);
      try {
        const db = await this.connect();
        this.#flight = insertPredictions(db, batch.rows);
        await this.#flight;
        this.#queue.splice(0, batch.rows.length);
        this.#queueBytes -= batch.bytes;
        this.#stats.written += batch.rows.length;
        this.#lastRefused = false;
        this.opts.onWritten?.(batch.rows.length);
        if (this.#failing) this.opts.onRecovered?.(this.#queue.length);
        this.#failing = false;
        backoff = 100;
      } catch (err) {
        if (!isTransientDbError(err)) {
          // The server refused the statement itself: one of its rows cannot be stored. Written
          // one by one, the good rows go in and each refused one is dropped and counted, so one
          // bad row never stalls the log.
          await this.#writeOneByOne(batch.rows.length, err);
          continue;
        }
        this.#stats.writeErrors++;
        this.#stats.lastError = (err as Error).message;
        this.#failing = true;
        this.opts.onWriteError?.(err, this.#queue.length);
        // During a drain the caller's deadline decides how long to keep trying.
        await this.#pause(backoff);
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      } finally {
        this.#inFlight.clear();
        this.#flight = undefined;
      }
    }
  }

  /** The first `n` queued rows, each in an INSERT of its own; stops at a transient failure. */
  async #writeOneByOne(n: number, cause: unknown): Promise<void> {
    this.#stats.writeErrors++;
    this.#stats.lastError = (cause as Error).message;
    let done = 0;
    try {
      const db = await this.connect();
      for (; done < n; done++) {
        const row = this.#queue[done];
        try {
          await insertPredictions(db, [row]);
          this.#lastRefused = false;
          this.#stats.written++;
          this.opts.onWritten?.(1);
        } catch (e) {
          if (isTransientDbError(e)) break;
          this.#lastRefused = true;
          this.#stats.dropped++;
          this.#stats.refused++;
          this.#stats.lastError = (e as Error).message;
          this.opts.onRefused?.(e, this.#stats.refused);
        }
      }
    } catch {
      // No connection now: the rows stay queued for the loop's retry.
    }
    const gone = this.#queue.splice(0, done);
    this.#queueBytes -= gone.reduce((a, r) => a + (r.input?.length ?? 0), 0);
  }

  /** Waits `ms`, or less when the log is closed; never keeps the process alive by itself. */
  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.#interrupt = () => {
        clearTimeout(timer);
        resolve();
      };
    }).then(() => {
      this.#interrupt = undefined;
    });
  }

  /** The oldest rows that fit one INSERT under the server's packet limit. */
  async #nextBatch(): Promise<{ rows: PredictionLogRow[]; bytes: number }> {
    let packet = 4 * 1024 * 1024;
    try {
      packet = await (await this.connect()).maxAllowedPacket();
    } catch {
      // Unreachable: the write below fails and is retried; the size does not matter yet.
    }
    const budget = Math.floor(packet * 0.9);
    let size = 0;
    let bytes = 0;
    let n = 0;
    for (const row of this.#queue) {
      const input = row.input?.length ?? 0;
      const rowSize = PREDICTION_SQL_OVERHEAD + 2 * input;
      if (n >= this.opts.maxBatchRows || (n > 0 && size + rowSize > budget)) break;
      size += rowSize;
      bytes += input;
      n++;
    }
    return { rows: this.#queue.slice(0, n), bytes };
  }
}
