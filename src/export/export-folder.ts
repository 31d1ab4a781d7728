import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { originalPages, type PixelFilter } from '../db/dataset-rows';
import type { Db } from '../db/db';
import { getDataset } from '../db/registry';

export interface ExportSummary {
  table: string;
  dir: string;
  written: number;
  unchanged: number;
  bytes: number;
}

/**
 * Writes `dir/<label>/<path under the label>` with each row's original bytes, so that exporting
 * and re-importing yields the same hashes. Reads by keyset paging (never OFFSET). Names from the
 * database are sanitized: no row can write outside `dir`.
 */
export async function exportFolder(
  db: Db,
  table: string,
  dir: string,
  filter: PixelFilter = {},
  onProgress?: (written: number) => void,
): Promise<ExportSummary> {
  await getDataset(db, table);
  const root = path.resolve(dir);
  fs.mkdirSync(root, { recursive: true });
  const summary: ExportSummary = { table, dir: root, written: 0, unchanged: 0, bytes: 0 };
  for await (const rows of originalPages(db, table, filter)) {
    for (const row of rows) {
      const target = targetPath(root, row.label, row.source, row.sha256.toString('hex'));
      fs.mkdirSync(path.dirname(target.path), { recursive: true });
      if (target.exists) {
        summary.unchanged++;
        continue;
      }
      fs.writeFileSync(target.path, row.original);
      summary.written++;
      summary.bytes += row.original.length;
    }
    onProgress?.(summary.written + summary.unchanged);
  }
  return summary;
}

/** A path component safe on every OS: no separators, no `..`, no control characters. */
export function safeComponent(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must go
  const cleaned = name.replace(/[/\\\0-\x1f:*?"<>|]/g, '_');
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? '_' : cleaned;
}

/**
 * Where a row goes. Its source path minus the first folder (the label it was imported under);
 * when another file already sits there with other content, the short hash is added to the name.
 */
function targetPath(root: string, label: string, source: string, shaHex: string): { path: string; exists: boolean } {
  const parts = source.split('/').filter(Boolean);
  const rest = (parts.length > 1 ? parts.slice(1) : parts).map(safeComponent);
  const base = path.join(root, safeComponent(label), ...rest);
  const sha = shaHex.toLowerCase();
  const candidates = [base, withSuffix(base, sha.slice(0, 12)), withSuffix(base, sha)];
  for (const candidate of candidates) {
    if (!fs.existsSync(candidate)) return { path: candidate, exists: false };
    if (sameHash(candidate, sha)) return { path: candidate, exists: true };
  }
  return { path: candidates[candidates.length - 1], exists: false };
}

function withSuffix(file: string, suffix: string): string {
  const ext = path.extname(file);
  return `${file.slice(0, file.length - ext.length)}-${suffix}${ext}`;
}

function sameHash(file: string, sha: string): boolean {
  try {
    return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex') === sha;
  } catch {
    return false;
  }
}
