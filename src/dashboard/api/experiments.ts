import type { FastifyInstance } from 'fastify';
import { listExperiments } from '../../db/experiments';
import { listRuns } from '../../db/run-queries';
import { latestStudyNamed } from '../../db/studies';
import { RequestError } from '../../http/request-error';
import { READ_ONLY, type DashboardOptions } from '../options';
import { int, pageSize, type Query } from '../query';
import { differingSettings } from '../settings-diff';

/**
 * Experiments: the list, and one experiment's runs with the settings that differ between them and
 * its live study (trials by state and worker).
 */
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
}
