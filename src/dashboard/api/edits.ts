import type { FastifyInstance } from 'fastify';
import { editRows, type Edit } from '../../db/row-edits';
import { RequestError } from '../../http/request-error';
import { editBody } from '../edit-body';
import type { DashboardOptions } from '../options';

/**
 * Row edits from the page (relabel, remove): db/row-edits' editRows, as `mldb relabel` and `mldb
 * rm-rows` run it — one new version each, all or nothing, an unknown id a 404 naming it. Only a
 * dashboard started with a token edits; without one these routes refuse (403), changing nothing.
 */
export function editRoutes(app: FastifyInstance, o: DashboardOptions): void {
  const edit = (kind: Edit['kind']) => async (request: { params: unknown; body: unknown }) => {
    if (!o.token)
      throw new RequestError(403, 'read_only', 'this dashboard is read-only: start it with a token to edit rows');
    const { name } = request.params as { name: string };
    if (name.includes('@'))
      throw new RequestError(
        400,
        'bad_query',
        `an edit changes the current rows: name the table without @ ("${name}")`,
      );
    const body = editBody(request.body, kind === 'relabel');
    const change: Edit = kind === 'relabel' ? { kind, to: body.label! } : { kind: 'remove' };
    const r = await editRows(await o.connect(), name, { ids: body.ids }, change);
    return { table: r.table, kind: r.kind, to: r.to, changed: r.changed, version: r.version ?? null, rows: r.rows };
  };
  app.post('/api/tables/:name/relabel', edit('relabel'));
  app.post('/api/tables/:name/remove', edit('remove'));
}
