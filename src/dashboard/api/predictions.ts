import type { FastifyInstance } from 'fastify';
import { listPredictions, predictionInput, predictionModelLabels, setTrueLabel } from '../../db/predictions';
import { checkCorrection, checkPredictionId } from '../../http/correction';
import { RequestError } from '../../http/request-error';
import type { DashboardOptions } from '../options';
import { parsePredictionCursor, predictionCursor } from '../page-cursor';
import { notModified, onePage, pageSize, text, time, type Query } from '../query';

/** The image types a logged input is served as; anything else goes out as bytes to download. */
const INPUT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  tiff: 'image/tiff',
};

/** The prediction log: a page of it, one logged input, and (with a token) a label correction. */
export function predictionRoutes(app: FastifyInstance, o: DashboardOptions): void {
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
  if (o.token) correctionRoute(app, o);
}

function correctionRoute(app: FastifyInstance, o: DashboardOptions): void {
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
