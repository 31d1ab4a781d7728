import type { FastifyInstance } from 'fastify';
import { countModels, listModels } from '../../db/models';
import { countPredictions } from '../../db/predictions';
import { listDatasetsAtAGlance } from '../../db/registry';
import { countExperiments } from '../../db/experiments';
import { countRuns } from '../../db/run-queries';
import type { DashboardOptions } from '../options';

/** The overview's counts, and the models page (one short list). */
export function overviewRoutes(app: FastifyInstance, o: DashboardOptions): void {
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

  app.get('/api/models', async () => ({ models: await listModels(await o.connect(), { limit: 1000 }) }));
}
