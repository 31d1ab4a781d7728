import type { FastifyInstance } from 'fastify';
import { listExperiments } from '../../db/experiments';
import { listRuns } from '../../db/run-queries';
import { RequestError } from '../../http/request-error';
import { READ_ONLY, type DashboardOptions } from '../options';
import { int, pageSize, type Query } from '../query';
import { differingSettings } from '../settings-diff';

/** Experiments: the list, and one experiment's runs with the settings that differ between them. */
export function experimentRoutes(app: FastifyInstance, o: DashboardOptions): void {
  app.get('/api/experiments', async (request) => {
    const db = await o.connect();
    const q = request.query as Query;
    return { experiments: await listExperiments(db, pageSize(q, 100), int(q, 'offset', 0)) };
  });

  app.get('/api/experiments/:name', async (request) => {
    const db = await o.connect();
    const { name } = request.params as { name: string };
    const runs = await listRuns(db, { experiment: name, limit: 10_000, sort: 'id', order: 'asc' }, READ_ONLY);
    if (runs.length === 0) throw new RequestError(404, 'not_found', `no experiment "${name}"`);
    return { name, runs, differing: differingSettings(runs) };
  });
}
