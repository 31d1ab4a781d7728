import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse';
import { InvalidDataError, NotFoundError } from '../errors';
import type { ImportItem, ItemSource } from './import-pipeline';
import { splitOfFolder } from './layout';
import type { Rejection } from './walk-labeled-folder';

/**
 * A CSV or TSV manifest for a flat folder: one row per image, `path,label[,split]`, paths relative
 * to the folder. A header row is recognised by its column names (path/file/filename/image and
 * label/class/category, optionally split) and may put them in any order; without one the columns
 * are positional. Parsing is csv-parse's (quotes, BOM, CRLF); placing rows is done here.
 */

const PATH_COLUMNS = ['path', 'file', 'filename', 'file_name', 'image', 'image_path', 'filepath', 'file_path'];
const LABEL_COLUMNS = ['label', 'class', 'category', 'target'];
const SPLIT_COLUMNS = ['split', 'subset', 'set'];

interface Columns {
  path: number;
  label: number;
  split?: number;
}

function headerColumns(cells: string[]): Columns | undefined {
  const names = cells.map((c) => c.trim().toLowerCase());
  const find = (options: string[]) => {
    const i = names.findIndex((n) => options.includes(n));
    return i < 0 ? undefined : i;
  };
  const p = find(PATH_COLUMNS);
  const l = find(LABEL_COLUMNS);
  return p === undefined || l === undefined ? undefined : { path: p, label: l, split: find(SPLIT_COLUMNS) };
}

export function openManifest(manifest: string, root: string): ItemSource {
  const rootAbs = path.resolve(root);
  if (!fs.existsSync(manifest))
    throw new NotFoundError(`no such manifest: ${manifest}`, 'pass a CSV or TSV file with path,label[,split] rows');
  if (!fs.statSync(rootAbs, { throwIfNoEntry: false })?.isDirectory())
    throw new NotFoundError(`no such directory: ${root}`, 'pass the folder the manifest paths are relative to');
  const rejected: Rejection[] = [];
  const tsv = /\.(tsv|tab)$/i.test(manifest);
  return { items: rows(manifest, rootAbs, tsv, rejected), rejected };
}

async function* rows(manifest: string, root: string, tsv: boolean, rejected: Rejection[]): AsyncGenerator<ImportItem> {
  const name = path.basename(manifest);
  const parser = fs.createReadStream(manifest).pipe(
    parse({
      delimiter: tsv ? '\t' : [',', '\t'],
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      info: true,
    }),
  );
  let columns: Columns | undefined;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const where = `${name} line ${info.lines}`;
      if (!columns) {
        columns = headerColumns(record);
        if (columns) continue;
        columns = { path: 0, label: 1, split: 2 };
      }
      const item = placeRow(record, columns, root);
      if (typeof item === 'string') rejected.push({ path: where, reason: item });
      else yield item;
    }
  } catch (e) {
    throw new InvalidDataError(
      `${name} is not a readable CSV/TSV file (${(e as Error).message})`,
      'fix the line named',
      {
        cause: e,
      },
    );
  }
}

function placeRow(record: string[], columns: Columns, root: string): ImportItem | string {
  const file = record[columns.path] ?? '';
  const label = record[columns.label] ?? '';
  if (file === '') return 'no path';
  if (label === '') return `no label for ${file}`;
  const full = path.resolve(root, file);
  const relative = path.relative(root, full);
  // `..foo.png` is a plain name; only `..` itself, or a path through it, leaves the folder.
  const leaves = relative === '..' || relative.startsWith(`..${path.sep}`);
  if (path.isAbsolute(file) || leaves || path.isAbsolute(relative))
    return `${file} is outside the folder the manifest is for`;
  const splitCell = columns.split === undefined ? '' : (record[columns.split] ?? '');
  const split = splitCell === '' ? undefined : splitOfFolder(splitCell);
  if (splitCell !== '' && split === undefined) return `unknown split "${splitCell}" (train, validation, test)`;
  return { path: full, relative: relative.split(path.sep).join('/'), label, split };
}
