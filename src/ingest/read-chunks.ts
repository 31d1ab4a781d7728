import { canonicalLabel, MAX_LABEL_LENGTH } from '../labels';
import { ROW_SQL_OVERHEAD } from '../db/row-writes';
import type { ImportItem } from './import-types';
import type { ReadOutcome } from './prepare-image';
import type { Preparer } from './prepare-pool';
import type { Rejection } from './walk-labeled-folder';

/** How a source is taken in: chunks of items, labels respelled once, what a row cannot hold refused. */

export interface ReadFile {
  file: ImportItem;
  sha: Buffer;
  bytes: Buffer;
}

/** Files read, hashed and checked against the table per round trip. */
export const CHUNK_FILES = 512;
/** Bytes of in-memory files (archive entries, stdin, the watch) taken per pass at most. */
export const CHUNK_BYTES = 64 * 1024 * 1024;
/** The dataset tables' `source` column is VARCHAR(1024). */
const MAX_SOURCE_CHARS = 1024;

/**
 * Items taken from a source per pass: enough to amortise a dedupe query, little enough to hold.
 * Sources that carry their bytes (archives, stdin, the watch) are cut by bytes too: a small zip
 * whose entries inflate to tens of MB each must not be held hundreds of entries at a time.
 */
export async function* inChunks<T extends { bytes?: Buffer }>(
  items: Iterable<T> | AsyncIterable<T>,
  size: number,
  maxBytes: number,
): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  let bytes = 0;
  for await (const item of items) {
    chunk.push(item);
    bytes += item.bytes?.length ?? 0;
    if (chunk.length >= size || bytes >= maxBytes) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * Every item under its label's one spelling (canonicalLabel), each respelling noted once so the
 * import can say so; a label that is only white space is no label, and its items are rejected.
 */
export function withCanonicalLabels(
  chunk: ImportItem[],
  respelled: Map<string, string>,
  rejected: Rejection[],
): ImportItem[] {
  const kept: ImportItem[] = [];
  for (const item of chunk) {
    const label = canonicalLabel(item.label);
    if (label === item.label) kept.push(item);
    else if (label === '') rejected.push({ path: item.path, reason: 'the label is empty once white space is trimmed' });
    else {
      respelled.set(item.label, label);
      kept.push({ ...item, label });
    }
  }
  return kept;
}

/** A chunk of items whose reading and hashing has started. */
export interface ReadChunk {
  /** Items taken from the source (rejected ones included): what progress counts. */
  size: number;
  items: ImportItem[];
  outcomes: Promise<ReadOutcome[]>;
}

/** Refuses what a row's columns cannot hold, and starts reading and hashing the rest. */
export function readChunk(
  preparer: Preparer,
  chunk: ImportItem[],
  size: number,
  rejected: Rejection[],
  limits: { budget: number; packet: number },
): ReadChunk {
  // A file that cannot go in one row is refused by its size, before it is read (or decoded).
  const maxFileBytes = Math.floor((limits.budget - ROW_SQL_OVERHEAD) / 2);
  // What the row's columns cannot hold would fail its whole batch: refused here, for every source.
  const items = chunk.filter((file) => {
    if ([...file.relative].length > MAX_SOURCE_CHARS) {
      rejected.push({ path: file.path, reason: `path longer than ${MAX_SOURCE_CHARS} characters` });
      return false;
    }
    if ([...file.label].length > MAX_LABEL_LENGTH) {
      rejected.push({ path: file.path, reason: `label longer than ${MAX_LABEL_LENGTH} characters` });
      return false;
    }
    return true;
  });
  const outcomes = preparer.readAndHash(items, maxFileBytes);
  outcomes.catch(() => undefined); // awaited by the loop; a failure before that is not "unhandled"
  return { size, items, outcomes };
}
