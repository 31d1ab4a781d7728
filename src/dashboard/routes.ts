import type { FastifyInstance } from 'fastify';
import { CONTENT_SECURITY_POLICY } from '../http/http-security';
import { editRoutes } from './api/edits';
import { experimentRoutes } from './api/experiments';
import { overviewRoutes } from './api/overview';
import { predictionRoutes } from './api/predictions';
import { runRoutes } from './api/runs';
import { suspectsRoutes } from './api/suspects';
import { tableRoutes } from './api/tables';
import { versionRoutes } from './api/versions';
import { dashboardAssets } from './assets';
import type { DashboardOptions } from './options';

/**
 * The dashboard (`mldb ui`, or `mldb serve --ui` under /ui): a page, and a JSON API over the
 * database: datasets with their images, versions, diffs and suspects, runs, experiments, models
 * and the prediction log, one file of routes per page in api/. It writes only with a token
 * (a prediction's correction, row edits). Every listing is a page of an indexed query, so it stays quick
 * on large databases.
 */
export async function dashboard(app: FastifyInstance, o: DashboardOptions): Promise<void> {
  pageRoutes(app);
  overviewRoutes(app, o);
  tableRoutes(app, o);
  versionRoutes(app, o);
  suspectsRoutes(app, o);
  editRoutes(app, o);
  runRoutes(app, o);
  experimentRoutes(app, o);
  predictionRoutes(app, o);
}

/** The page and its files, each with the CSP that lets it run only its own scripts. */
function pageRoutes(app: FastifyInstance): void {
  for (const [url, asset] of Object.entries(dashboardAssets())) {
    // Under a prefix the page is only at prefix/ (its links are relative): prefix alone redirects.
    app.get(url, { prefixTrailingSlash: 'slash' }, async (_request, reply) =>
      reply
        .type(asset.type)
        .header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
        .header('Cache-Control', 'no-cache')
        .send(asset.body),
    );
  }
}
