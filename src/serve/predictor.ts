import crypto from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { PredictionLogRow } from '../db/predictions';
import { sniffFormat } from '../images/formats';
import { DecodeError, TooManyPixelsError } from '../images/decode';
import { modelImageShape, type SavedModel } from '../ml/artifacts';
import { tfjsEngine } from '../ml/inference-engine';
import { classifyInputs, ranked } from '../ml/predict';
import { ImageDecoder } from './image-decoder';
import type { ServeMetrics } from './metrics';
import { MicroBatcher } from './micro-batcher';
import type { PredictionLog } from './prediction-log';
import type { ImageInput } from './image-inputs';

/** One image's answer: a prediction, or why this image (and only it) failed. */
export type ImageResult =
  | {
      id: string;
      name: string | null;
      label: string;
      confidence: number;
      top: Array<{ label: string; probability: number }>;
    }
  | { id: string; name: string | null; error: string; code: 'undecodable' | 'too_many_pixels' };

export interface PredictorOptions {
  top: number;
  maxPixels: number;
  /** Keep each input's bytes in the log (needed to promote corrections), up to `maxLoggedInputBytes`. */
  logInputs: boolean;
  maxLoggedInputBytes: number;
  maxBatch: number;
  batchWindowMs: number;
}

/** Who asked, for the log. */
export interface RequestOrigin {
  source: 'api' | 'form' | 'page' | 'watch';
  client: string | null;
  /** When the request arrived (performance.now()), so latency covers reading and decoding too. */
  startedAt: number;
}

/** Runs batches somewhere else than this thread. */
export interface InferenceEngine {
  run(inputs: readonly Float32Array[]): Promise<Float32Array[]>;
  /** Batches that could start now. */
  readonly idle: number;
}

/** Where the rows go: the PredictionLog, or nowhere (`predict --watch --no-log`). */
export type LogSink = Pick<PredictionLog, 'push' | 'stats'>;

/** How the served model is named in the log and in listings. */
export interface ModelIdentity {
  name: string;
  modelId: number | null;
  runId: number | null;
}

/** A stored model is `name@version`; a folder is named by its path as given. */
export function modelIdentity(saved: SavedModel, folderName: string): ModelIdentity {
  return saved.stored
    ? { name: `${saved.stored.name}@${saved.stored.version}`, modelId: saved.stored.id, runId: saved.stored.runId }
    : { name: folderName, modelId: null, runId: saved.metadata.runId ?? null };
}

/**
 * Image bytes → label, for the service: decode and preprocess exactly as `mldb predict` does,
 * classify through the micro-batcher, and queue one log row per image.
 */
export class Predictor {
  readonly batcher: MicroBatcher<Float32Array, Float32Array>;
  /** The last answers, newest first: what the page shows under "recent requests". */
  readonly recent: Array<ImageResult & { at: string; trueLabel?: string }> = [];
  readonly decoder: ImageDecoder;

  constructor(
    readonly saved: SavedModel,
    readonly identity: ModelIdentity,
    private readonly log: LogSink,
    private readonly metrics: ServeMetrics,
    readonly opts: PredictorOptions,
    /** Where batches run: worker threads (InferencePool), onnxruntime, or this thread when absent. */
    engine?: InferenceEngine,
    /** What runs the model, as /healthz and the startup line say it. */
    readonly engineName = 'tfjs',
  ) {
    this.decoder = new ImageDecoder(
      modelImageShape(saved.metadata),
      (pixels) => metrics.decodePixelsWaiting.set(pixels),
      opts.maxPixels,
    );
    const onMainThread = tfjsEngine(saved.model);
    const run = engine
      ? (inputs: Float32Array[]) => engine.run(inputs)
      : (inputs: Float32Array[]) => classifyInputs(onMainThread, inputs, saved.metadata.labels.length);
    this.batcher = new MicroBatcher(run, {
      maxBatch: opts.maxBatch,
      windowMs: opts.batchWindowMs,
      idle: engine ? () => engine.idle : undefined,
      onBatch: (size, seconds) => {
        metrics.batchSize.observe(size);
        metrics.modelSeconds.observe(seconds);
      },
    });
  }

  get labels(): string[] {
    return this.saved.metadata.labels;
  }

  async classify(image: ImageInput, origin: RequestOrigin, top = this.opts.top): Promise<ImageResult> {
    const id = uuidv7();
    const format: string | null = sniffFormat(image.bytes) ?? null;
    let result: ImageResult | undefined;
    let xs: Float32Array | undefined;
    try {
      xs = await this.decoder.toModelInput(image.bytes);
    } catch (e) {
      // Whatever the decoder or resizer says about this file fails this file only.
      result = {
        id,
        name: image.name,
        error: e instanceof DecodeError ? e.message : `cannot convert the image: ${(e as Error).message}`,
        code: e instanceof TooManyPixelsError ? 'too_many_pixels' : 'undecodable',
      };
      this.metrics.predictions.inc({ status: 'error' });
    }
    if (xs) {
      const probs = await this.batcher.submit(xs);
      result = { id, name: image.name, ...ranked(probs, this.labels, top) };
      this.metrics.predictions.inc({ status: 'ok' });
    }
    this.#record(result!, image, format, origin);
    return result!;
  }

  /** Stops the decode thread. */
  close(): Promise<void> {
    return this.decoder.close();
  }

  #record(result: ImageResult, image: ImageInput, format: string | null, origin: RequestOrigin): void {
    const ok = 'label' in result;
    const row: PredictionLogRow = {
      id: result.id,
      createdAt: new Date(),
      source: origin.source,
      model: this.identity.name,
      modelId: this.identity.modelId,
      runId: this.identity.runId,
      client: origin.client,
      fileName: image.name,
      inputSha256: crypto.createHash('sha256').update(image.bytes).digest(),
      inputBytes: image.bytes.length,
      inputFormat: format,
      input: this.opts.logInputs && image.bytes.length <= this.opts.maxLoggedInputBytes ? image.bytes : null,
      label: ok ? result.label : null,
      confidence: ok ? result.confidence : null,
      top: ok ? result.top : null,
      latencyMs: performance.now() - origin.startedAt,
      status: ok ? 'ok' : 'error',
      error: ok ? null : result.error,
    };
    this.log.push(row);
    this.metrics.logQueueDepth.set(this.log.stats().queued);
    this.recent.unshift({ ...result, at: row.createdAt.toISOString() });
    this.recent.length = Math.min(this.recent.length, 20);
  }
}
