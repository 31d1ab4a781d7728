import type { FastifyInstance } from 'fastify';
import { listModels } from '../../db/models';
import { RUN_STATUSES } from '../../db/enums';
import { countRuns, getRun, listRuns, runFacets, RUN_SORTS, type RunFilter, type RunSort } from '../../db/run-queries';
import { RequestError } from '../../http/request-error';
import { READ_ONLY, type DashboardOptions } from '../options';
import { int, oneOf, pageSize, text, type Query } from '../query';
import { differingSettings } from '../settings-diff';

/** Training runs: a filtered, sorted page of them, one run with its models, and runs side by side. */
export function runRoutes(app: FastifyInstance, o: DashboardOptions): void {
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
}
