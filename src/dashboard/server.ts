import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/db';
import { createHttpApp } from '../http/http-app';
import { bearerGuard, originGuard, servedHostNames } from '../http/http-security';
import { DASHBOARD_ASSET_PATHS } from './assets';
import type { FindSuspects } from './options';
import { dashboard } from './routes';

export interface DashboardServerOptions {
  host: string;
  port: number;
  token?: string;
  connect: () => Promise<Db>;
  suspects?: FindSuspects;
}

/**
 * `mldb ui` on its own: the dashboard at /, with the service's limits (small bodies, no proxy
 * trust) and its token rule (the page and its files open, every API route behind the token).
 */
export async function startDashboard(o: DashboardServerOptions): Promise<{ url: string; app: FastifyInstance }> {
  const app = createHttpApp({ bodyLimit: 64 * 1024 });
  const open = new Set(DASHBOARD_ASSET_PATHS);
  app.addHook('onRequest', originGuard(o.token, servedHostNames(o.host)));
  app.addHook(
    'onRequest',
    bearerGuard(o.token, (path) => open.has(path)),
  );
  await app.register(dashboard, { connect: o.connect, token: o.token, suspects: o.suspects });
  const url = await app.listen({ host: o.host, port: o.port });
  return { url, app };
}
