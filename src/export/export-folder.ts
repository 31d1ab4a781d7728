import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { originalPages } from '../db/pixel-reads';
import { type PixelFilter } from '../db/row-selection';
import { shardedOriginalPages } from '../db/shard-reads';
import { shardMap } from '../db/sharding';
import type { Db } from '../db/db';
import { getDataset } from '../db/registry';
import { UsageError } from '../errors';
import { checkWritableFolderPath } from '../file-targets';
import { labelToFolder } from '../labels';

export interface ExportSummary {
  table: string;
  dir: string;
  written: number;
  unchanged: number;
  bytes: number;
}

/**
 * Writes `dir/<label>/<path under the label>` with each row's original bytes, so that exporting
 * and re-importing yields the same hashes and labels. Reads by keyset paging (never OFFSET).
 * Names from the database never reach outside `dir`: labels are escaped reversibly
 * (labels.ts labelToFolder), file names sanitized, and nothing is written through a symlink
 * found under `dir` (folders are checked with lstat, files created with O_NOFOLLOW | O_EXCL).
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
  checkWritableFolderPath('export folder', dir, root);
  fs.mkdirSync(root, { recursive: true });
  const summary: ExportSummary = { table, dir: root, written: 0, unchanged: 0, bytes: 0 };
  // A sharded table is read from every backend at once, merged in id order (the head's order);
  // an old version of it through the head, where the history of its rows is.
  const shards = filter.asOf === undefined ? await shardMap(db, table) : [];
  const pages = shards.length > 0 ? shardedOriginalPages(db, table, filter, shards) : originalPages(db, table, filter);
  for await (const rows of pages) {
    for (const row of rows) {
      const folder = realFolder(root, [labelToFolder(row.label), ...subfolders(row.source)]);
      const target = targetPath(folder, row.source, row.sha256.toString('hex'));
      if (target.exists) {
        summary.unchanged++;
        continue;
      }
      writeNew(target.path, row.original);
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

/** The folders of a row's source path between its label folder and its file name. */
function subfolders(source: string): string[] {
  const parts = source.split('/').filter(Boolean);
  return parts.slice(1, -1).map(safeComponent);
}

/**
 * `root/a/b/…`, created as needed; every part that exists must be a real folder: a symlink (or a
 * file) there could send the write elsewhere, so the export stops and says so.
 */
function realFolder(root: string, parts: string[]): string {
  let dir = root;
  for (const part of parts) {
    dir = path.join(dir, part);
    const st = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (!st) fs.mkdirSync(dir);
    else if (st.isSymbolicLink())
      throw new UsageError(`${dir} is a symlink: mldb export does not write through links`, 'export into a new folder');
    else if (!st.isDirectory()) throw new UsageError(`${dir} exists and is not a folder`, 'export into a new folder');
  }
  return dir;
}

/** Creates the file; never follows a symlink or overwrites what is there. */
function writeNew(file: string, bytes: Buffer): void {
  const fd = fs.openSync(
    file,
    fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
    0o644,
  );
  try {
    // write(2) may take part of the bytes (a disk filling up): go on until all are written or it fails.
    for (let at = 0; at < bytes.length;) at += fs.writeSync(fd, bytes, at, bytes.length - at);
  } catch (e) {
    // A full disk (or a quota) must not leave half a file that a re-run would take as another image.
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw e;
  }
  fs.closeSync(fd);
}

/**
 * Where a row goes in its folder: the source's file name; when another file already sits there
 * with other content, the short hash is added to the name.
 */
function targetPath(folder: string, source: string, shaHex: string): { path: string; exists: boolean } {
  const parts = source.split('/').filter(Boolean);
  const base = path.join(folder, safeComponent(parts[parts.length - 1] ?? shaHex));
  const sha = shaHex.toLowerCase();
  const candidates = [base, withSuffix(base, sha.slice(0, 12)), withSuffix(base, sha)];
  for (const candidate of candidates) {
    const st = fs.lstatSync(candidate, { throwIfNoEntry: false });
    if (!st) return { path: candidate, exists: false };
    if (st.isFile() && sameHash(candidate, sha)) return { path: candidate, exists: true };
  }
  for (let n = 2; ; n++) {
    const numbered = withSuffix(base, `${sha}-${n}`);
    if (!fs.lstatSync(numbered, { throwIfNoEntry: false })) return { path: numbered, exists: false };
  }
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
