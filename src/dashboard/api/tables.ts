import type { FastifyInstance } from 'fastify';
import { imagePage, listRows } from '../../db/row-listings';
import { pixelsByIds, rowPixels } from '../../db/pixel-reads';
import type { Split } from '../../db/enums';
import { countImportFindings, importFindingsPage } from '../../db/import-findings';
import { datasetAtAGlance } from '../../db/registry';
import { SPLITS } from '../../db/schema';
import { RequestError } from '../../http/request-error';
import { knownDataset } from '../known-dataset';
import type { DashboardOptions } from '../options';
import { int, notModified, oneOf, onePage, pageSize, text, type Query } from '../query';
import { pixelsToPng } from '../thumbnail';
import { versionParam } from '../version-param';

/** A dataset table: its summary, a page of its images, one image as PNG, its import findings. */
export function tableRoutes(app: FastifyInstance, o: DashboardOptions): void {
  app.get('/api/tables/:name', async (request) => {
    const db = await o.connect();
    const { name } = request.params as { name: string };
    await knownDataset(db, name);
    const [details, findings] = await Promise.all([datasetAtAGlance(db, name), countImportFindings(db, name)]);
    return { ...details, findings };
  });

  app.get('/api/tables/:name/images', async (request) => {
    const db = await o.connect();
    const { name } = request.params as { name: string };
    const q = request.query as Query;
    await knownDataset(db, name);
    const limit = pageSize(q, 60);
    const filter = { label: text(q, 'label'), split: oneOf<Split>(q, 'split', SPLITS), afterId: int(q, 'after', 0) };
    const asOf = await versionParam(db, name, text(q, 'at'));
    // An old version is read as `rows TABLE@N` reads it; the current rows by the indexed page.
    const images =
      asOf === undefined
        ? await imagePage(db, name, filter, limit + 1)
        : await listRows(db, name, { ...filter, asOf, limit: limit + 1 });
    const page = onePage<{ id: number }, number>(images, limit, (i) => i.id);
    return { images: page.items, next: page.next };
  });

  app.get('/api/tables/:name/images/:file', async (request, reply) => {
    const db = await o.connect();
    const { name, file } = request.params as { name: string; file: string };
    const m = /^(\d{1,18})\.png$/.exec(file);
    if (!m) throw new RequestError(404, 'not_found', 'images are named <id>.png');
    const { shape } = await knownDataset(db, name);
    if (!shape) throw new RequestError(404, 'no_images', `dataset "${name}" has no images yet`);
    const id = Number(m[1]);
    const asOf = await versionParam(db, name, text(request.query as Query, 'at'));
    // At a version, a row removed since is read from its history (its bytes never change under an id).
    const row =
      asOf === undefined
        ? await rowPixels(db, name, id)
        : await pixelsByIds(db, name, [id], asOf).then((p) =>
            p.has(id) ? { sha256: null, pixels: p.get(id)! } : undefined,
          );
    if (!row) throw new RequestError(404, 'not_found', `no row ${m[1]} in ${name}`);
    const etag = `"${row.sha256?.toString('hex') ?? m[1]}-${shape.height}x${shape.width}x${shape.channels}"`;
    if (notModified(request, reply, etag)) return reply;
    return reply.type('image/png').send(await pixelsToPng(row.pixels, shape, `row ${m[1]} of ${name}`));
  });

  app.get('/api/tables/:name/findings', async (request) => {
    const db = await o.connect();
    const { name } = request.params as { name: string };
    const q = request.query as Query;
    await knownDataset(db, name);
    const limit = pageSize(q, 50);
    const kind = oneOf(q, 'kind', ['conflict', 'duplicate'] as const) ?? 'conflict';
    const rows = await importFindingsPage(db, name, kind, int(q, 'after', 0), limit + 1);
    const page = onePage(rows, limit, (f) => f.id);
    return { findings: page.items, next: page.next };
  });
}
