import os from 'node:os';
import {
  appendEpochs,
  createRun,
  finishRun,
  setRunData,
  type EpochRow,
  type RunStatus,
  type TestDetails,
} from '../db/runs';
import type { Db } from '../db/db';
import { isMldbError } from '../errors';
import { redact } from '../secret';
import { MLDB_VERSION } from '../version';
import { tf } from './tf';

/** Epochs are written in batches: at most this many waiting, or this long since the last write. */
const FLUSH_EPOCHS = 10;
const FLUSH_MS = 15_000;

export interface RecordLabels {
  name?: string | null;
  experiment?: string | null;
  planKey?: string | null;
}

/**
 * Writes one training run to mldb_runs as it happens: created `running`, then data and backend,
 * epochs in batches, and a final status. Writes are chained in order; a failed write does not stop
 * training — it is reported when the run finishes.
 */
export class RunRecorder {
  private chain: Promise<void> = Promise.resolve();
  private pending: EpochRow[] = [];
  private lastFlush = Date.now();
  private writeError: unknown;

  private constructor(
    private readonly db: Db,
    readonly id: number,
  ) {}

  static async start(
    db: Db,
    init: {
      dataset: string;
      architecture: string;
      hyperparameters: Record<string, unknown> & { seed: number };
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
    return new RunRecorder(db, id);
  }

  private enqueue(write: () => Promise<void>): void {
    this.chain = this.chain.then(write).catch((e) => {
      this.writeError ??= e;
    });
  }

  data(d: Parameters<typeof setRunData>[2]): void {
    this.enqueue(() => setRunData(this.db, this.id, d));
  }

  epoch(e: EpochRow): void {
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
    if (this.writeError) throw this.writeError;
  }
}
