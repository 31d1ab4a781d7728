import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { datasetAtAGlance, findDataset, listDatasetsAtAGlance } from '../db/registry';
import type { Db } from '../db/db';
import { imagePage } from '../db/row-listings';
import { rowPixels } from '../db/pixel-reads';
import type { Split } from '../db/enums';
import { countImportFindings, importFindingsPage } from '../db/import-findings';
import { countModels, listModels } from '../db/models';
import {
  countPredictions,
  listPredictions,
  predictionInput,
  predictionModelLabels,
  setTrueLabel,
} from '../db/predictions';
import { countRuns, getRun, listRuns, runFacets, RUN_SORTS, type RunFilter, type RunSort } from '../db/run-queries';
import { countExperiments, listExperiments } from '../db/experiments';
import { latestStudyNamed } from '../db/studies';
import { RUN_STATUSES } from '../db/enums';
import { SPLITS } from '../db/schema';
import { CONTENT_SECURITY_POLICY } from '../http/http-security';
import { RequestError } from '../http/request-error';
import { checkCorrection, checkPredictionId } from '../http/correction';
import { dashboardAssets } from './assets';
import { parsePredictionCursor, predictionCursor } from './page-cursor';
import { differingSettings } from './settings-diff';
import { pixelsToPng } from './thumbnail';

export interface DashboardOptions {
  connect: () => Promise<Db>;
  /** With a token the dashboard may also write (correct a prediction's label); reads need it too. */
  token?: string;
}

const MAX_PAGE = 500;
/** The dashboard reads: runs orphaned by a killed process are shown settled, never written so. */
const READ_ONLY = { write: false } as const;
/** The image types a logged input is served as; anything else goes out as bytes to download. */
const INPUT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  tiff: 'image/tiff',
};

type Query = Record<string, string | undefined>;

function int(q: Query, key: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = q[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new RequestError(400, 'bad_query', `${key} must be a whole number from 0 to ${max}, got "${raw}"`);
  return n;
}

/** `limit`: rows per page, 1 to MAX_PAGE. */
function pageSize(q: Query, fallback: number): number {
  const n = int(q, 'limit', fallback, MAX_PAGE);
  if (n < 1) throw new RequestError(400, 'bad_query', `limit must be from 1 to ${MAX_PAGE}, got "${q.limit}"`);
  return n;
}

function oneOf<T extends string>(q: Query, key: string, allowed: readonly T[]): T | undefined {
  const raw = q[key];
  if (raw === undefined || raw === '') return undefined;
  if (!(allowed as readonly string[]).includes(raw))
    throw new RequestError(400, 'bad_query', `${key} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

function time(q: Query, key: string): Date | undefined {
  const raw = q[key];
  if (raw === undefined || raw === '') return undefined;
  const d = new Date(raw);
  if (Number.isNaN(d.getTime()))
    throw new RequestError(400, 'bad_query', `${key} must be a date or time, got "${raw}"`);
  return d;
}

function text(q: Query, key: string): string | undefined {
  const raw = q[key];
  return raw === undefined || raw === '' ? undefined : raw;
}

/** A registered dataset, or 404: names reach SQL only after the registry knows them. */
async function dataset(db: Db, name: string) {
  const ds = await findDataset(db, name);
  if (!ds) throw new RequestError(404, 'not_found', `no dataset table "${name}"`);
  return ds;
}

/**
 * A page from `limit + 1` rows asked for: the first `limit`, and where the next page starts (the
 * last row's cursor) only when the extra row shows there is one.
 */
function onePage<T, C>(rows: T[], limit: number, cursor: (row: T) => C): { items: T[]; next: C | null } {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? cursor(items[items.length - 1]) : null };
}

/** 304 when the client holds this version already. */
function notModified(request: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  reply.header('ETag', etag).header('Cache-Control', 'private, no-cache');
  if (request.headers['if-none-match'] === etag) {
    reply.code(304).send();
    return true;
  }
  return false;
}

/**
 * The dashboard (`mldb ui`, or `mldb serve --ui` under /ui): a page, and a read-only JSON API over
 * the database: datasets and their images, runs, experiments, models and the prediction log.
 * Every listing is a page of an indexed query, so it stays quick on large databases.
 */
export async function dashboard(app: FastifyInstance, o: DashboardOptions): Promise<void> {
  const assets = dashboardAssets();
  for (const [url, asset] of Object.entries(assets)) {
    // Under a prefix the page is only at prefix/ (its links are relative): prefix alone redirects.
    app.get(url, { prefixTrailingSlash: 'slash' }, async (_request, reply) =>
      reply
        .type(asset.type)
        .header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
        .header('Cache-Control', 'no-cache')
        .send(asset.body),
    );
  }

  app.get('/api/overview', async () => {
    const db = await o.connect();
    const [tables, runs, experiments, models, pendingCorrections] = await Promise.all([
      listDatasetsAtAGlance(db),
      countRuns(db),
      countExperiments(db),
      countModels(db),
      countPredictions(db, { pending: true }),
    ]);
    return { tables, runs, experiments, models, pendingCorrections, writable: Boolean(o.token) };
  });

  app.get('/api/tables/:name', async (request) => {
    const db = await o.connect();
    const { name } = request.params as { name: string };
    await dataset(db, name);
    const [details, findings] = await Promise.all([datasetAtAGlance(db, name), countImportFindings(db, name)]);
    return { ...details, findings };
  });

  app.get('/api/tables/:name/images', async (request) => {
    const db = await o.connect();
    const { name } = request.params as { name: string };
    const q = request.query as Query;
    await dataset(db, name);
    const limit = pageSize(q, 60);
    const images = await imagePage(
      db,
      name,
      { label: text(q, 'label'), split: oneOf<Split>(q, 'split', SPLITS), afterId: int(q, 'after', 0) },
      limit + 1,
    );
    const page = onePage(images, limit, (i) => i.id);
    return { images: page.items, next: page.next };
  });

  app.get('/api/tables/:name/images/:file', async (request, reply) => {
    const db = await o.connect();
    const { name, file } = request.params as { name: string; file: string };
    const m = /^(\d{1,18})\.png$/.exec(file);
    if (!m) throw new RequestError(404, 'not_found', 'images are named <id>.png');
    const { shape } = await dataset(db, name);
    if (!shape) throw new RequestError(404, 'no_images', `dataset "${name}" has no images yet`);
    const row = await rowPixels(db, name, Number(m[1]));
    if (!row) throw new RequestError(404, 'not_found', `no row ${m[1]} in ${name}`);
    const etag = `"${row.sha256?.toString('hex') ?? m[1]}-${shape.height}x${shape.width}x${shape.channels}"`;
    if (notModified(request, reply, etag)) return reply;
    return reply.type('image/png').send(await pixelsToPng(row.pixels, shape, `row ${m[1]} of ${name}`));
  });

  app.get('/api/tables/:name/findings', async (request) => {
    const db = await o.connect();
    const { name } = request.params as { name: string };
    const q = request.query as Query;
    await dataset(db, name);
    const limit = pageSize(q, 50);
    const kind = oneOf(q, 'kind', ['conflict', 'duplicate'] as const) ?? 'conflict';
    const rows = await importFindingsPage(db, name, kind, int(q, 'after', 0), limit + 1);
    const page = onePage(rows, limit, (f) => f.id);
    return { findings: page.items, next: page.next };
  });

  app.get('/api/runs', async (request) => {
    const db = await o.connect();
    const q = request.query as Query;
    const filter: RunFilter = {
      dataset: text(q, 'dataset'),
      architecture: text(q, 'architecture'),
      status: oneOf(q, 'status', RUN_STATUSES),
      experiment: text(q, 'experiment'),
      sort: oneOf(q, 'sort', Object.keys(RUN_SORTS) as RunSort[]),
      order: oneOf(q, 'order', ['asc', 'desc'] as const),
      offset: int(q, 'offset', 0),
      limit: pageSize(q, 50),
    };
    const [runs, total, facets] = await Promise.all([
      listRuns(db, filter, READ_ONLY),
      countRuns(db, filter),
      runFacets(db),
    ]);
    return { runs, total, facets };
  });

  app.get('/api/runs/:id', async (request) => {
    const db = await o.connect();
    const id = int(request.params as Query, 'id', 0);
    const run = await getRun(db, id, READ_ONLY);
    const models = await listModels(db, { runId: id, limit: 100 });
    return { run, models };
  });

  app.get('/api/compare', async (request) => {
    const db = await o.connect();
    const raw = (request.query as Query).ids ?? '';
    const ids = [...new Set(raw.split(',').filter(Boolean).map(Number))];
    if (ids.length < 2 || ids.length > 20 || ids.some((n) => !Number.isInteger(n) || n < 1))
      throw new RequestError(400, 'bad_query', 'ids must list 2 to 20 run ids, comma-separated');
    const runs = await Promise.all(ids.map((id) => getRun(db, id, READ_ONLY)));
    return {
      runs: runs.map(({ testDetails: _t, ...r }) => r),
      differing: differingSettings(runs),
    };
  });

  app.get('/api/experiments', async (request) => {
    const db = await o.connect();
    const q = request.query as Query;
    return { experiments: await listExperiments(db, pageSize(q, 100), int(q, 'offset', 0)) };
  });

  app.get('/api/experiments/:name', async (request) => {
    const db = await o.connect();
    const { name } = request.params as { name: string };
    const runs = await listRuns(db, { experiment: name, limit: 10_000, sort: 'id', order: 'asc' }, READ_ONLY);
    const found = await latestStudyNamed(db, name);
    if (runs.length === 0 && !found) throw new RequestError(404, 'not_found', `no experiment "${name}"`);
    // The plan's live study, when it ran as one: each trial's state, worker and reported values.
    const study = found && {
      id: found.id,
      sampler: found.sampler,
      pruner: found.pruner,
      objective: found.objective,
      direction: found.direction,
      trials: found.trials,
      rows: found.trialRows.map((t) => ({
        number: t.number,
        state: t.state,
        worker: t.worker,
        params: t.params === null ? null : (JSON.parse(t.params) as unknown),
        value: t.value,
        steps: t.steps === null ? [] : (JSON.parse(t.steps) as unknown),
        runId: t.runId,
        heartbeatAge: t.heartbeatAge,
      })),
    };
    return { name, runs, differing: differingSettings(runs), study };
  });

  app.get('/api/models', async () => ({ models: await listModels(await o.connect(), { limit: 1000 }) }));

  app.get('/api/predictions', async (request) => {
    const db = await o.connect();
    const q = request.query as Query;
    const limit = pageSize(q, 50);
    const rows = await listPredictions(db, {
      model: text(q, 'model'),
      label: text(q, 'label'),
      corrected: q.corrected === '1' || q.corrected === 'true',
      pending: q.pending === '1' || q.pending === 'true',
      since: time(q, 'since'),
      before: time(q, 'before'),
      olderThan: q.cursor ? parsePredictionCursor(q.cursor) : undefined,
      limit: limit + 1,
    });
    const page = onePage(rows, limit, predictionCursor);
    return { predictions: page.items, next: page.next };
  });

  app.get('/api/predictions/:id/input', async (request, reply) => {
    const { id } = request.params as { id: string };
    checkPredictionId(id);
    const row = await predictionInput(await o.connect(), id);
    if (!row) throw new RequestError(404, 'not_found', `no logged prediction ${id}`);
    if (!row.input)
      throw new RequestError(404, 'not_logged', 'this input was not logged (serve --log-inputs keeps it)');
    if (notModified(request, reply, `"${row.sha256?.toString('hex') ?? id}"`)) return reply;
    const type = (row.format && INPUT_TYPES[row.format]) || 'application/octet-stream';
    return reply.type(type).header('X-Content-Type-Options', 'nosniff').send(row.input);
  });

  // Writing needs the token: without one the dashboard is read-only (the route does not exist).
  if (o.token) {
    app.post('/api/predictions/:id/label', async (request) => {
      const { id } = request.params as { id: string };
      checkPredictionId(id);
      const db = await o.connect();
      const modelLabels = await predictionModelLabels(db, id);
      if (modelLabels === undefined) throw new RequestError(404, 'not_found', `no logged prediction ${id}`);
      if (modelLabels === null) {
        throw new RequestError(
          409,
          'model_not_stored',
          'the model that made this prediction is not stored in the database, so its labels are unknown here: ' +
            'correct it through the service that made it (POST /v1/predictions/ID/label)',
        );
      }
      const label = checkCorrection(id, (request.body as { label?: unknown } | undefined)?.label, modelLabels);
      if (!(await setTrueLabel(db, id, label))) throw new RequestError(404, 'not_found', `no logged prediction ${id}`);
      return { id, label };
    });
  }
}
