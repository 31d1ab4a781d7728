import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What `GET /metrics` exposes, in Prometheus text format (prom-client). */
export interface ServeMetrics {
  registry: Registry;
  requests: Counter<'route' | 'status'>;
  requestSeconds: Histogram<'route'>;
  predictions: Counter<'status'>;
  batchSize: Histogram;
  modelSeconds: Histogram;
  logQueueDepth: Gauge;
  decodePixelsWaiting: Gauge;
  logRowsWritten: Counter;
  logRowsDropped: Counter;
  logWriteErrors: Counter;
}

export function createMetrics(): ServeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mldb_serve_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'mldb_serve_http_requests_total',
      help: 'HTTP requests answered, by route and status code',
      labelNames: ['route', 'status'] as const,
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'mldb_serve_http_request_duration_seconds',
      help: 'Time from request to response, by route',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    }),
    predictions: new Counter({
      name: 'mldb_serve_predictions_total',
      help: 'Images classified (ok) or refused (error: undecodable, too large)',
      labelNames: ['status'] as const,
      registers,
    }),
    batchSize: new Histogram({
      name: 'mldb_serve_batch_size',
      help: 'Images per model call (micro-batching)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    }),
    modelSeconds: new Histogram({
      name: 'mldb_serve_model_duration_seconds',
      help: 'Time of one model call (a whole batch)',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2],
      registers,
    }),
    logQueueDepth: new Gauge({
      name: 'mldb_serve_log_queue_depth',
      help: 'Prediction log rows waiting to be written to the database',
      registers,
    }),
    decodePixelsWaiting: new Gauge({
      name: 'mldb_serve_decode_pixels_waiting',
      help: 'Pixels that large images declare, waiting for the decode budget',
      registers,
    }),
    logRowsWritten: new Counter({
      name: 'mldb_serve_log_rows_written_total',
      help: 'Prediction log rows written to mldb_predictions',
      registers,
    }),
    logRowsDropped: new Counter({
      name: 'mldb_serve_log_rows_dropped_total',
      help: 'Prediction log rows dropped because the queue was full (database slow or away)',
      registers,
    }),
    logWriteErrors: new Counter({
      name: 'mldb_serve_log_write_errors_total',
      help: 'Failed prediction log writes (retried)',
      registers,
    }),
  };
}
