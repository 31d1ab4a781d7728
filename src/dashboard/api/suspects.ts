import type { FastifyInstance } from 'fastify';
import { getModel } from '../../db/models';
import { RequestError } from '../../http/request-error';
import { knownDataset } from '../known-dataset';
import type { DashboardOptions } from '../options';
import { pageSize, text, type Query } from '../query';

/**
 * The suspects of a table under a stored model (`mldb suspects`): the model runs over every row,
 * which takes seconds to minutes, so the page asks only when the user does, for at most `limit`
 * rows, and one at a time (a second request while one runs is a 429 rather than a second model
 * competing for the same cores). Relabelling or removing one is an ordinary edit (edits.ts).
 */
export function suspectsRoutes(app: FastifyInstance, o: DashboardOptions): void {
  let running = false;
  app.get('/api/tables/:name/suspects', async (request) => {
    const db = await o.connect();
    const { name } = request.params as { name: string };
    const q = request.query as Query;
    const limit = pageSize(q, 20);
    const ref = text(q, 'model');
    if (ref === undefined)
      throw new RequestError(400, 'bad_query', 'model must name a stored model: run:ID, NAME or NAME@VERSION');
    await knownDataset(db, name);
    if (!o.suspects)
      throw new RequestError(404, 'not_available', 'suspects are found by mldb ui (this server only serves a model)');
    // Stored models only: a reference the database does not know is a 404, never a path to open.
    const model = await getModel(db, ref);
    if (running)
      throw new RequestError(429, 'busy', 'suspects are being found for another request: try again after it');
    running = true;
    try {
      const r = await o.suspects(name, `${model.name}@${model.version}`, limit);
      return {
        table: name,
        model: `${model.name}@${model.version}`,
        engine: r.engine,
        count: r.count,
        skipped: r.skipped,
        found: r.found,
        suspects: r.suspects,
      };
    } finally {
      running = false;
    }
  });
}
