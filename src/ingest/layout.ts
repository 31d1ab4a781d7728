import type { Split } from '../db/enums';
import { folderToLabel } from '../labels';

/**
 * How a folder or archive names labels. `labels`: `<label>/…/<file>`. `splits`: the Hugging Face
 * `imagefolder` convention, `<split>/<label>/…/<file>` with top-level train/validation/test
 * folders. `auto` reads the split layout when every top-level folder is a split name.
 */
export type Layout = 'auto' | 'labels' | 'splits';
export const LAYOUTS: readonly Layout[] = ['auto', 'labels', 'splits'];

/** The folder names `datasets`' imagefolder accepts for each split (case-insensitive). */
const SPLIT_FOLDERS: Record<string, Split> = {
  train: 'train',
  training: 'train',
  validation: 'validation',
  valid: 'validation',
  val: 'validation',
  dev: 'validation',
  test: 'test',
  testing: 'test',
  eval: 'test',
  evaluation: 'test',
};

/** The split a folder name stands for, or undefined when it is not a split name. */
export function splitOfFolder(name: string): Split | undefined {
  return Object.hasOwn(SPLIT_FOLDERS, name.toLowerCase()) ? SPLIT_FOLDERS[name.toLowerCase()] : undefined;
}

/** What `auto` resolves to, given the top-level folder names. */
export function resolveLayout(layout: Layout, topFolders: readonly string[]): 'labels' | 'splits' {
  if (layout !== 'auto') return layout;
  return topFolders.length > 0 && topFolders.every((n) => splitOfFolder(n) !== undefined) ? 'splits' : 'labels';
}

/** Where a file sits: its label and, in the split layout, its split. */
export interface Placement {
  label: string;
  split?: Split;
  /** Path from the root, forward slashes: what the row's `source` records. */
  relative: string;
}

/**
 * Places a file from its path components under the root, or says why it cannot be placed. A
 * label folder's name is read back through folderToLabel (what export escaped, import unescapes).
 * Shared by archives (whose entries arrive as paths) and manifests; the folder walk applies the
 * same rules while it descends.
 */
export function placeByPath(parts: readonly string[], layout: 'labels' | 'splits'): Placement | string {
  const relative = parts.join('/');
  if (layout === 'splits') {
    const split = splitOfFolder(parts[0]);
    if (split === undefined) return `"${parts[0]}" is not a split folder (train, validation, test)`;
    if (parts.length < 3) return 'not inside a label folder (expected <split>/<label>/<file>)';
    return { label: folderToLabel(parts[1]), split, relative };
  }
  if (parts.length < 2) return 'not inside a label folder (expected <label>/<file>)';
  return { label: folderToLabel(parts[0]), relative };
}
