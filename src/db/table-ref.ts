import { UsageError } from '../errors';
import type { Db } from './db';
import { getDataset, type Dataset } from './registry';
import { resolveVersion } from './table-versions';

/**
 * `TABLE`, `TABLE@N` or `TABLE@TAG`: the one place a table that is read is named with a version.
 * Every read (rows, show, export, train, evaluate) resolves its table argument here.
 */

export interface TableRef {
  table: string;
  /** The version as written after `@` (a number or a tag), or unset: the current rows. */
  at?: string;
}

export function parseTableRef(text: string): TableRef {
  const at = text.indexOf('@');
  if (at < 0) return { table: text };
  const version = text.slice(at + 1);
  if (version === '') throw new UsageError(`invalid table "${text}"`, 'write TABLE@VERSION or TABLE@TAG');
  return { table: text.slice(0, at), at: version };
}

/** What a read reads: the dataset, and the version (`asOf`) when one was named. */
export interface ReadTarget {
  table: string;
  dataset: Dataset;
  asOf?: number;
}

export async function resolveReadTarget(db: Db, text: string): Promise<ReadTarget> {
  const ref = parseTableRef(text);
  const dataset = await getDataset(db, ref.table);
  if (ref.at === undefined) return { table: ref.table, dataset };
  return { table: ref.table, dataset, asOf: await resolveVersion(db, ref.table, ref.at) };
}
