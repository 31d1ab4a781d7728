import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/db';
import type { SavedModel } from '../ml/artifacts';
import type { BackendName } from '../ml/backend-names';
import { tf } from '../ml/tf';
import { buildApp } from './app';
import { InferencePool } from './inference-pool';
import { openEngine, type ModelEngine } from '../ml/inference-engine';
import { classifyInputs } from '../ml/predict';
import type { EngineChoice } from '../ml/engine-names';
import { createMetrics, type ServeMetrics } from './metrics';
import { PredictionLog, type PredictionLogStats } from './prediction-log';
import { Predictor, type InferenceEngine, type ModelIdentity, type PredictorOptions } from './predictor';

export interface ServiceOptions extends PredictorOptions {
  /** Inference threads, each with its own copy of the model (0: classify on the main thread). */
  workers: number;
  /** onnxruntime when installed (auto: its own threads, no worker pool), or TensorFlow.js. */
  engine: EngineChoice;
  host: string;
  port: number;
  token?: string;
  maxBodyBytes: number;
  maxFiles: number;
  maxQueueRows: number;
  maxQueueBytes: number;
  /** Also serve the dashboard under /ui/ (the token, when set, guards it too). */
  dashboard?: boolean;
  /** Called with one line for the operator (stderr): log writes failing, recovering, dropping. */
  note: (line: string) => void;
}

/** A whole-model engine as the micro-batcher's: one batch in flight (it uses every core itself). */
function batchEngine(engine: ModelEngine, saved: SavedModel): InferenceEngine {
  let inFlight = 0;
  return {
    get idle() {
      return inFlight === 0 ? 1 : 0;
    },
    async run(inputs) {
      inFlight++;
      try {
        return await classifyInputs(engine, inputs, saved.metadata.labels.length);
      } finally {
        inFlight--;
      }
    },
  };
}

export interface RunningService {
  /** http://host:port */
  url: string;
  app: FastifyInstance;
  predictor: Predictor;
  log: PredictionLog;
  metrics: ServeMetrics;
  /** Stops taking requests, answers those in flight, then writes the queued log rows. */
  stop(drainTimeoutMs: number): Promise<ShutdownSummary>;
}

export interface ShutdownSummary {
  predictions: number;
  log: PredictionLogStats;
  /** Log rows still unwritten when the drain timed out (the database stayed away). */
  unwritten: number;
}

/** Starts the prediction service: warms the model, opens the log writer, listens. */
export async function startService(
  saved: SavedModel,
  identity: ModelIdentity,
  connect: () => Promise<Db>,
  o: ServiceOptions,
): Promise<RunningService> {
  const metrics = createMetrics();
  let failingSince: number | null = null;
  let lastDropNote = 0;
  const log = new PredictionLog(connect, {
    maxQueueRows: o.maxQueueRows,
    maxQueueBytes: o.maxQueueBytes,
    maxBatchRows: 500,
    flushMs: 20,
    onWritten: (n) => {
      metrics.logRowsWritten.inc(n);
      metrics.logQueueDepth.set(log.stats().queued);
    },
    onWriteError: (err, queued) => {
      metrics.logWriteErrors.inc();
      if (failingSince === null) {
        failingSince = Date.now();
        o.note(
          `mldb serve: cannot write the prediction log (${(err as Error).message}); ${queued} row(s) queued, ` +
            'retrying; predictions go on',
        );
      }
    },
    onRecovered: (queued) => {
      o.note(
        `mldb serve: prediction log writes resumed after ${((Date.now() - failingSince!) / 1000).toFixed(1)} s; ` +
          `${queued} row(s) still queued`,
      );
      failingSince = null;
    },
    onRefused: (err, total) => {
      metrics.logRowsDropped.inc();
      if (Date.now() - lastDropNote < 5000) return;
      lastDropNote = Date.now();
      o.note(`mldb serve: the database refused a prediction log row (${(err as Error).message}): ${total} dropped`);
    },
    onDropped: (total, queued) => {
      metrics.logRowsDropped.inc();
      if (Date.now() - lastDropNote < 5000) return;
      lastDropNote = Date.now();
      o.note(
        `mldb serve: prediction log queue is full (${queued} rows): ${total} row(s) dropped so far; ` +
          'the database is too slow or away',
      );
    },
  });
  // onnxruntime runs a batch on every core by itself; TensorFlow.js needs a thread per core.
  const native = o.engine === 'tfjs' ? undefined : await openEngine(saved, o.engine);
  const onnx = native && native.engine.name.startsWith('onnxruntime') ? native.engine : undefined;
  const pool =
    !onnx && o.workers > 0 && saved.files
      ? await InferencePool.start(
          saved.files,
          tf.getBackend() as BackendName,
          o.workers,
          saved.metadata.inputShape,
          saved.metadata.labels.length,
        )
      : undefined;
  const engineName = onnx
    ? onnx.name
    : `tfjs (${tf.getBackend()}${pool ? `, ${o.workers} threads` : ''})` +
      (native?.fallback ? ` — ${native.fallback}` : '');
  const predictor = new Predictor(
    saved,
    identity,
    log,
    metrics,
    o,
    pool ?? (onnx && batchEngine(onnx, saved)),
    engineName,
  );
  // The first call compiles the backend's kernels: pay it now, not on the first request.
  const [h, w, c] = saved.metadata.inputShape;
  await predictor.batcher.submit(new Float32Array(h * w * c));
  const app = await buildApp({
    predictor,
    log,
    metrics,
    connect,
    token: o.token,
    host: o.host,
    maxBodyBytes: o.maxBodyBytes,
    maxFiles: o.maxFiles,
    dashboard: o.dashboard,
  });
  const address = await app.listen({ host: o.host, port: o.port });
  return {
    url: address,
    app,
    predictor,
    log,
    metrics,
    async stop(drainTimeoutMs) {
      await app.close();
      await predictor.close();
      await pool?.close();
      await onnx?.dispose();
      const unwritten = await log.drain(drainTimeoutMs);
      const stats = log.stats();
      return { predictions: stats.written + stats.queued + stats.dropped, log: stats, unwritten };
    },
  };
}
