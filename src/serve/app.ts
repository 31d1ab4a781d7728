import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../db/db';
import { ping } from '../db/health';
import { setTrueLabel } from '../db/predictions';
import type { ServeMetrics } from './metrics';
import { readImages, type ImageInput } from './image-inputs';
import { RequestError } from '../http/request-error';
import { checkCorrection } from '../http/correction';
import { DASHBOARD_ASSET_PATHS } from '../dashboard/assets';
import { dashboard } from '../dashboard/routes';
import { createHttpApp } from '../http/http-app';
import { bearerGuard, CONTENT_SECURITY_POLICY, originGuard, servedHostNames } from '../http/http-security';
import { pageAssets } from './page';
import { printable } from '../printable';
import type { PredictionLog } from './prediction-log';
import type { ImageResult, Predictor, RequestOrigin } from './predictor';

export interface AppOptions {
  predictor: Predictor;
  log: PredictionLog;
  metrics: ServeMetrics;
  connect: () => Promise<Db>;
  /** When set, every route but the page and /healthz needs `Authorization: Bearer <token>`. */
  token?: string;
  /** The address it listens on: without a token, requests must be addressed to it (or loopback). */
  host: string;
  maxBodyBytes: number;
  maxFiles: number;
  /** Mount the dashboard under /ui/. */
  dashboard?: boolean;
}

/** Where `serve --ui` mounts the dashboard. */
export const DASHBOARD_PREFIX = '/ui';

/** When each request arrived, so logged latency covers reading and decoding the upload too. */
const arrivals = new WeakMap<FastifyRequest, number>();

const OPEN_ROUTES = new Set(['/', '/app.js', '/style.css', '/healthz']);

/** The HTTP side of `mldb serve` (fastify): routes, limits, auth and metrics hooks. */
export async function buildApp(o: AppOptions): Promise<FastifyInstance> {
  const app = createHttpApp({ bodyLimit: o.maxBodyBytes });
  await app.register(multipart, {
    limits: { fileSize: o.maxBodyBytes, files: o.maxFiles, fields: 20, parts: o.maxFiles + 20 },
  });
  const raw = (_req: FastifyRequest, body: Buffer | string, done: (err: null, body: Buffer | string) => void) =>
    done(null, body);
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, raw);
  app.addContentTypeParser(/^image\//, { parseAs: 'buffer' }, raw);

  app.addHook('onRequest', async (request) => {
    arrivals.set(request, performance.now());
  });
  app.addHook('onRequest', originGuard(o.token, servedHostNames(o.host)));
  // The dashboard's page and files, and /ui itself: it only redirects to /ui/, and a browser
  // following a link to it has no token to send.
  const dashboardAssets = new Set([
    DASHBOARD_PREFIX,
    ...DASHBOARD_ASSET_PATHS.map((p) => DASHBOARD_PREFIX + (p === '/' ? '/' : p)),
  ]);
  app.addHook(
    'onRequest',
    bearerGuard(o.token, (path) => OPEN_ROUTES.has(path) || (o.dashboard === true && dashboardAssets.has(path))),
  );
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    o.metrics.requests.inc({ route, status: String(reply.statusCode) });
    o.metrics.requestSeconds.observe({ route }, reply.elapsedTime / 1000);
  });

  registerPage(app);
  registerApi(app, o);
  if (o.dashboard) {
    await app.register(dashboard, { prefix: DASHBOARD_PREFIX, connect: o.connect, token: o.token });
    app.get(DASHBOARD_PREFIX, async (_request, reply) => reply.redirect(`${DASHBOARD_PREFIX}/`));
  }
  return app;
}

function registerPage(app: FastifyInstance): void {
  const assets = pageAssets();
  for (const [url, asset] of Object.entries(assets)) {
    app.get(url, async (_request, reply) =>
      reply
        .type(asset.type)
        // The page loads nothing from elsewhere; the policy makes sure of it.
        .header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
        .header('Cache-Control', 'no-cache')
        .send(asset.body),
    );
  }
}

function origin(request: FastifyRequest, source: RequestOrigin['source']): RequestOrigin {
  return { source, client: request.ip ?? null, startedAt: arrivals.get(request) ?? performance.now() };
}

/** A request's images, classified together; each image fails alone. */
async function classifyAll(
  predictor: Predictor,
  images: ImageInput[],
  at: RequestOrigin,
  top: number,
): Promise<ImageResult[]> {
  refuseWhenOverloaded(predictor, images);
  return Promise.all(images.map((img) => predictor.classify(img, at, top)));
}

/** Large images already wait to decode: a new request of large ones would only wait longer, holding its bytes. */
function refuseWhenOverloaded(predictor: Predictor, images: ImageInput[]): void {
  if (predictor.decoder.overloadedFor(images.map((i) => i.bytes)))
    throw new RequestError(503, 'busy', 'the service is decoding other large images: retry in a few seconds');
}

function parseTop(query: unknown, fallback: number, labels: number): number {
  const raw = (query as { top?: string } | undefined)?.top;
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new RequestError(400, 'bad_top', `top must be a whole number ≥ 1, got ${raw}`);
  return Math.min(n, labels);
}

function registerApi(app: FastifyInstance, o: AppOptions): void {
  const { predictor, log, metrics } = o;
  const limits = { maxFiles: o.maxFiles, maxFileBytes: o.maxBodyBytes };

  app.post('/v1/predict', async (request, reply) => {
    const top = parseTop(request.query, predictor.opts.top, predictor.labels.length);
    const source = request.headers['x-mldb-source'] === 'page' ? 'page' : 'api';
    const at = origin(request, source);
    const predictions = await classifyAll(predictor, await readImages(request, limits), at, top);
    const failed = predictions.filter((p) => 'error' in p);
    if (failed.length === predictions.length) {
      const bomb = failed.every((p) => 'code' in p && p.code === 'too_many_pixels');
      return reply.code(bomb ? 413 : 422).send({
        error: {
          code: bomb ? 'too_many_pixels' : 'undecodable',
          message: predictions.length === 1 ? (failed[0] as { error: string }).error : 'no image could be read',
        },
        predictions,
      });
    }
    return { predictions };
  });

  // The original service's form endpoint: one uploaded file, a plain-text answer.
  app.post('/mnist', async (request, reply) => {
    const [image] = await readImages(request, { ...limits, maxFiles: 1 });
    refuseWhenOverloaded(predictor, [image]);
    const at = origin(request, 'form');
    const r = await predictor.classify(image, at);
    const when = new Date().toISOString().replace('T', ' ').slice(0, 19);
    // The file name is the client's: escaped, so that it cannot add a line of its own to the answer.
    const lines = [`file: ${printable(image.name ?? '-')}`, `upload time: ${when}`];
    if ('error' in r)
      return reply
        .code(422)
        .type('text/plain')
        .send([...lines, `error: ${r.error}`, ''].join('\n'));
    return reply.type('text/plain').send([...lines, `prediction: ${r.label}`, ''].join('\n'));
  });

  app.get('/v1/models', async () => {
    const { saved, identity } = predictor;
    const m = saved.metadata;
    return {
      models: [
        {
          name: identity.name,
          id: identity.modelId,
          run: identity.runId,
          architecture: m.architecture,
          inputShape: m.inputShape,
          labels: m.labels,
          dataset: m.dataset?.table ?? null,
          testAccuracy: (m.metrics as { testAccuracy?: number | null } | undefined)?.testAccuracy ?? null,
        },
      ],
    };
  });

  app.get('/v1/predictions/recent', async () => ({ predictions: predictor.recent }));

  app.post('/v1/predictions/:id/label', async (request, reply) => {
    const { id } = request.params as { id: string };
    const label = checkCorrection(id, (request.body as { label?: unknown } | undefined)?.label, predictor.labels);
    const recent = predictor.recent.find((r) => r.id === id);
    if (recent) recent.trueLabel = label;
    if (await log.labelQueued(id, label)) return { id, label, stored: 'queued' };
    // The database away is a 503 (the client may retry), a refused UPDATE a 500 naming the grant:
    // the error handler's answers, without the server's text.
    const found = await setTrueLabel(await o.connect(), id, label);
    if (!found) return reply.code(404).send({ error: { code: 'not_found', message: `no logged prediction ${id}` } });
    return { id, label, stored: 'database' };
  });

  app.get('/healthz', async () => {
    const database = await databaseHealth(o.connect);
    const logStats = log.stats();
    metrics.logQueueDepth.set(logStats.queued);
    return {
      // Predictions still work when either fails; what is degraded is the record of them.
      status: database.reachable && !logStats.failing ? 'ok' : 'degraded',
      model: { loaded: true, name: predictor.identity.name, engine: predictor.engineName },
      database,
      log: logStats,
    };
  });

  app.get('/metrics', async (_request, reply: FastifyReply) => {
    metrics.logQueueDepth.set(log.stats().queued);
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

/** Whether the database answers within a second (the service keeps predicting either way). */
async function databaseHealth(connect: () => Promise<Db>): Promise<{ reachable: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer within 1 s')), 1000);
  });
  try {
    await Promise.race([connect().then(ping), timeout]);
    return { reachable: true };
  } catch (e) {
    return { reachable: false, error: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
