import fs from 'node:fs';
import path from 'node:path';
import type { Split } from '../db/enums';
import { NotFoundError, UsageError } from '../errors';
import { folderToLabel } from '../labels';
import { resolveLayout, splitOfFolder, type Layout } from './layout';

/** A file found under `root/<label>/…`. */
export interface LabeledFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the import root, with forward slashes: `<label>/<…>/<file>`. */
  relative: string;
  label: string;
  /** The split the layout gave it (`train/<label>/…`); absent when the hash decides. */
  split?: Split;
}

/** A file or folder that could not be used, and why. */
export interface Rejection {
  path: string;
  reason: string;
}

export interface WalkResult {
  files: LabeledFile[];
  rejected: Rejection[];
  /** The layout read (`auto` resolved). */
  layout: 'labels' | 'splits';
}

/**
 * Lists `root/<label>/…` (or `root/<split>/<label>/…`, see layout.ts) in a stable order. Files may
 * sit in nested folders under a label. Hidden entries (.DS_Store, .git) are skipped; symlinks are
 * followed, loops and dangling links rejected; unreadable folders are rejected with the reason
 * instead of stopping the walk.
 */
export function walkLabeledFolder(root: string, layout: Layout = 'auto'): WalkResult {
  const abs = path.resolve(root);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new NotFoundError(`no such directory: ${root}`, 'pass a folder laid out as DIR/<label>/<image files>');
  }
  if (!st.isDirectory())
    throw new UsageError(`not a directory: ${root}`, 'pass a folder laid out as DIR/<label>/<image files>');

  const rejected: Rejection[] = [];
  const top = sortedEntries(abs, rejected).map((entry) => {
    const full = path.join(abs, entry);
    return { entry, full, kind: classify(full, rejected) };
  });
  const result: WalkResult = {
    files: [],
    rejected,
    layout: resolveLayout(
      layout,
      top.filter((t) => t.kind === 'dir').map((t) => t.entry),
    ),
  };
  const visited = new Set<string>([`${st.dev}:${st.ino}`]);
  for (const { entry, full, kind } of top) {
    if (kind === 'file') {
      rejected.push({
        path: full,
        reason:
          result.layout === 'splits'
            ? 'not inside a split folder (expected DIR/<split>/<label>/<file>)'
            : 'not inside a label folder (expected DIR/<label>/<file>)',
      });
    } else if (kind === 'dir' && result.layout === 'labels') {
      enterLabel(entry, full, undefined, '', visited, result);
    } else if (kind === 'dir') {
      const split = splitOfFolder(entry);
      if (split === undefined) {
        rejected.push({ path: full, reason: 'not a split folder (train, validation, test)' });
        continue;
      }
      const labels = sortedEntries(full, rejected).map((e) => ({ entry: e, full: path.join(full, e) }));
      walkLabels(labels, split, `${entry}/`, visited, result);
    }
  }
  return result;
}

/** Label folders (`entry` is the label) and files found where a label folder was expected. */
function walkLabels(
  entries: { entry: string; full: string }[],
  split: Split | undefined,
  prefix: string,
  visited: Set<string>,
  out: WalkResult,
): void {
  for (const { entry, full } of entries) {
    const kind = classify(full, out.rejected);
    if (kind === 'file') {
      out.rejected.push({ path: full, reason: 'not inside a label folder (expected <label>/<file>)' });
    } else if (kind === 'dir') {
      enterLabel(entry, full, split, prefix, visited, out);
    }
  }
}

function enterLabel(
  folder: string,
  full: string,
  split: Split | undefined,
  prefix: string,
  visited: Set<string>,
  out: WalkResult,
): void {
  const label = folderToLabel(folder);
  walkLabel(full, { label, split }, `${prefix}${folder}`, visited, out);
}

function walkLabel(
  dir: string,
  place: { label: string; split?: Split },
  relative: string,
  visited: Set<string>,
  out: WalkResult,
): void {
  let real: fs.Stats;
  try {
    real = fs.statSync(dir);
  } catch (e) {
    // Gone or unreadable since it was listed (another process is changing the folder).
    out.rejected.push({ path: dir, reason: `cannot read folder (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
    return;
  }
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
    if (kind === 'file') out.files.push({ path: full, relative: rel, ...place });
    else if (kind === 'dir') walkLabel(full, place, rel, visited, out);
  }
  visited.delete(key);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A folder's entries, sorted, hidden ones left out. Names are read as bytes: a name that is not
 * UTF-8 (Latin-1 from an old archive or camera) would otherwise come back with U+FFFD in it, a
 * path that does not exist. Such names are rejected as what they are, shown with their bytes
 * percent-escaped; the `source` column is text, so they cannot be kept as they are.
 */
function sortedEntries(dir: string, rejected: Rejection[]): string[] {
  let raw: Buffer[];
  try {
    raw = fs.readdirSync(dir, { encoding: 'buffer' });
  } catch (e) {
    rejected.push({ path: dir, reason: `cannot read folder (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
    return [];
  }
  const names: string[] = [];
  for (const bytes of raw) {
    if (bytes[0] === 0x2e) continue; // '.'
    try {
      names.push(utf8.decode(bytes));
    } catch {
      rejected.push({
        path: path.join(dir, escapeNonUtf8(bytes)),
        reason: 'file name is not valid UTF-8: rename it (e.g. convmv -f latin1 -t utf8 -r --notest DIR)',
      });
    }
  }
  return names.sort();
}

/** Printable ASCII kept, every other byte as %XX: what a name that is not UTF-8 was. */
function escapeNonUtf8(bytes: Buffer): string {
  return [...bytes]
    .map((b) =>
      b >= 0x20 && b < 0x7f && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
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
