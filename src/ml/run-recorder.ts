import os from 'node:os';
import { appendEpochs, createRun, finishRun, setRunData } from '../db/run-writes';
import { type EpochRow, type TestDetails } from '../db/run-types';
import { type RunStatus } from '../db/enums';
import type { Db } from '../db/db';
import { DatabaseError, isMldbError } from '../errors';
import { isTransientDbError } from '../db/transient';
import { redact } from '../secret';
import { MLDB_VERSION } from '../version';
import type { TrainingCallback } from './callbacks';
import { tf } from './tf';

/** Epochs are written in batches: at most this many waiting, or this long since the last write. */
const FLUSH_EPOCHS = 10;
const FLUSH_MS = 15_000;
/** How long the end of a run waits for a database that went away, to record it. */
const FINISH_WAIT_MS = 30_000;

export interface RecordLabels {
  name?: string | null;
  experiment?: string | null;
  planKey?: string | null;
}

/**
 * Writes one training run to mldb_runs as it happens: created `running` before training starts,
 * then data and backend, epochs in batches (as a training callback), and a final status. Writes
 * are chained in order; a failed write does not stop training — it is reported when the run
 * finishes.
 */
export class RunRecorder implements TrainingCallback {
  private chain: Promise<void> = Promise.resolve();
  private pending: EpochRow[] = [];
  private lastFlush = Date.now();
  private writeError: unknown;
  /** Writes that failed because the server was away, to send again in order. */
  private unsent: Array<() => Promise<void>> = [];
  private awayError: unknown;

  private constructor(
    private readonly db: Db,
    readonly id: number,
    private readonly onWait?: (runId: number, seconds: number) => void,
  ) {}

  static async start(
    db: Db,
    init: {
      dataset: string;
      architecture: string;
      hyperparameters: Record<string, unknown> & { seed: number };
      onWait?: (runId: number, seconds: number) => void;
    } & RecordLabels,
  ): Promise<RunRecorder> {
    const id = await createRun(db, {
      name: init.name ?? null,
      experiment: init.experiment ?? null,
      planKey: init.planKey ?? null,
      dataset: init.dataset,
      architecture: init.architecture,
      hyperparameters: init.hyperparameters,
      mldbVersion: MLDB_VERSION,
      tfjsVersion: tf.version.tfjs,
      host: os.hostname(),
      pid: process.pid,
    });
    return new RunRecorder(db, id, init.onWait);
  }

  private enqueue(write: () => Promise<void>): void {
    this.chain = this.chain.then(() => this.attempt(write));
  }

  /**
   * Runs the writes that waited for the server, in order, then `write`. Every write is idempotent
   * (upserts and updates of this run's row), so one that failed because the server was away is
   * kept and sent again later: a restart of the server mid-training loses no record.
   */
  private async attempt(write?: () => Promise<void>): Promise<void> {
    const queue = this.unsent.splice(0);
    if (write) queue.push(write);
    for (let i = 0; i < queue.length; i++) {
      try {
        await queue[i]();
      } catch (e) {
        if (!isTransientDbError(e)) {
          this.writeError ??= e;
          continue;
        }
        this.unsent.push(...queue.slice(i));
        this.awayError = e;
        return;
      }
    }
  }

  data(d: Parameters<typeof setRunData>[2]): void {
    this.enqueue(() => setRunData(this.db, this.id, d));
  }

  onEpochEnd(e: EpochRow): void {
    this.pending.push(e);
    if (this.pending.length >= FLUSH_EPOCHS || Date.now() - this.lastFlush >= FLUSH_MS) this.flush();
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.lastFlush = Date.now();
    if (batch.length) this.enqueue(() => appendEpochs(this.db, this.id, batch));
  }

  /** Flushes what is pending and sets the final status. Throws if any write failed. */
  async finish(
    status: Exclude<RunStatus, 'running'>,
    f: {
      test?: { loss: number; accuracy: number; details: TestDetails } | null;
      modelDir?: string | null;
      error?: unknown;
    } = {},
  ): Promise<void> {
    this.flush();
    const error =
      f.error === undefined
        ? null
        : redact(isMldbError(f.error) ? f.error.line : ((f.error as Error)?.message ?? String(f.error)), [
            this.db.config.password,
          ]);
    this.enqueue(() => finishRun(this.db, this.id, { status, test: f.test, modelDir: f.modelDir, error }));
    await this.chain;
    // The server is away: wait for it a while, so that the run's end (and why) is recorded.
    const deadline = Date.now() + FINISH_WAIT_MS;
    if (this.unsent.length > 0) this.onWait?.(this.id, FINISH_WAIT_MS / 1000);
    for (let wait = 250; this.unsent.length > 0 && Date.now() < deadline; wait = Math.min(wait * 2, 4000)) {
      await new Promise((r) => setTimeout(r, wait));
      await this.attempt();
    }
    if (this.unsent.length > 0) {
      throw new DatabaseError(
        `run ${this.id} could not be recorded to its end: ` +
          (isMldbError(this.awayError) ? this.awayError.message : 'the database is unreachable'),
        `mldb runs will list it as interrupted`,
        { cause: this.awayError },
      );
    }
    if (this.writeError) throw this.writeError;
  }
}
