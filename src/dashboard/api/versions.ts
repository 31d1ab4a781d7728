import type { FastifyInstance } from 'fastify';
import { diffVersions, summarizeDiff } from '../../db/table-diff';
import { currentVersion, recentVersions } from '../../db/table-versions';
import { knownDataset } from '../known-dataset';
import type { DashboardOptions } from '../options';
import { int, onePage, pageSize, text, type Query } from '../query';
import { versionParam } from '../version-param';

/**
 * A table's versions and what changed between two of them: the same functions of db/ as `mldb
 * versions` and `mldb diff`, so the page and the command never disagree.
 */
export function versionRoutes(app: FastifyInstance, o: DashboardOptions): void {
  app.get('/api/tables/:name/versions', async (request) => {
    const db = await o.connect();
    const { name } = request.params as { name: string };
    const q = request.query as Query;
    await knownDataset(db, name);
    const limit = pageSize(q, 100);
    const before = q.before ? int(q, 'before', 0) : undefined;
    const rows = await recentVersions(db, name, { before, limit: limit + 1 });
    const page = onePage(rows, limit, (v) => v.version);
    return { table: name, current: await currentVersion(db, name), versions: page.items, next: page.next };
  });

  app.get('/api/tables/:name/diff', async (request) => {
    const db = await o.connect();
    const { name } = request.params as { name: string };
    const q = request.query as Query;
    await knownDataset(db, name);
    const limit = pageSize(q, 100);
    const [from, to] = [await versionParam(db, name, text(q, 'from')), await versionParam(db, name, text(q, 'to'))];
    const d = await diffVersions(db, name, from, to);
    const first = <T>(rows: T[]) => rows.slice(0, limit);
    return {
      ...summarizeDiff(d),
      rows: {
        added: first(d.added),
        removed: first(d.removed),
        relabelled: first(d.relabelled),
        moved: first(d.moved),
      },
      rowLimit: limit,
    };
  });
}
