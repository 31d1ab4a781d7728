import fs from 'node:fs';
import path from 'node:path';
import { NotFoundError, UsageError } from '../errors';

/** A file found under `root/<label>/…`. */
export interface LabeledFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the import root, with forward slashes: `<label>/<…>/<file>`. */
  relative: string;
  label: string;
}

/** A file or folder that could not be used, and why. */
export interface Rejection {
  path: string;
  reason: string;
}

export interface WalkResult {
  files: LabeledFile[];
  rejected: Rejection[];
}

/** Labels longer than the label column are refused here rather than truncated by the server. */
export const MAX_LABEL_LENGTH = 191;

/**
 * Lists `root/<label>/…` in a stable order. Files may sit in nested folders under a label.
 * Hidden entries (.DS_Store, .git) are skipped; symlinks are followed, loops and dangling links
 * rejected; unreadable folders are rejected with the reason instead of stopping the walk.
 */
export function walkLabeledFolder(root: string): WalkResult {
  const abs = path.resolve(root);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new NotFoundError(`no such directory: ${root}`, 'pass a folder laid out as DIR/<label>/<image files>');
  }
  if (!st.isDirectory())
    throw new UsageError(`not a directory: ${root}`, 'pass a folder laid out as DIR/<label>/<image files>');

  const result: WalkResult = { files: [], rejected: [] };
  const visited = new Set<string>([`${st.dev}:${st.ino}`]);
  for (const entry of sortedEntries(abs, result.rejected)) {
    const full = path.join(abs, entry);
    const kind = classify(full, result.rejected);
    if (kind === 'file') {
      result.rejected.push({ path: full, reason: 'not inside a label folder (expected DIR/<label>/<file>)' });
    } else if (kind === 'dir') {
      if ([...entry].length > MAX_LABEL_LENGTH) {
        result.rejected.push({ path: full, reason: `label longer than ${MAX_LABEL_LENGTH} characters` });
        continue;
      }
      walkLabel(full, entry, entry, visited, result);
    }
  }
  return result;
}

function walkLabel(dir: string, label: string, relative: string, visited: Set<string>, out: WalkResult): void {
  const real = fs.statSync(dir);
  const key = `${real.dev}:${real.ino}`;
  if (visited.has(key)) {
    out.rejected.push({ path: dir, reason: 'symlink loop (folder already visited)' });
    return;
  }
  visited.add(key);
  for (const entry of sortedEntries(dir, out.rejected)) {
    const full = path.join(dir, entry);
    const rel = `${relative}/${entry}`;
    const kind = classify(full, out.rejected);
    if (kind === 'file') out.files.push({ path: full, relative: rel, label });
    else if (kind === 'dir') walkLabel(full, label, rel, visited, out);
  }
  visited.delete(key);
}

function sortedEntries(dir: string, rejected: Rejection[]): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((n) => !n.startsWith('.'))
      .sort();
  } catch (e) {
    rejected.push({ path: dir, reason: `cannot read folder (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
    return [];
  }
}

function classify(full: string, rejected: Rejection[]): 'file' | 'dir' | 'skip' {
  try {
    const st = fs.statSync(full);
    if (st.isDirectory()) return 'dir';
    if (st.isFile()) return 'file';
    rejected.push({ path: full, reason: 'not a regular file' });
    return 'skip';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      code === 'ELOOP' ? 'symlink loop' : code === 'ENOENT' ? 'broken symlink' : `cannot read (${code ?? 'error'})`;
    rejected.push({ path: full, reason });
    return 'skip';
  }
}
