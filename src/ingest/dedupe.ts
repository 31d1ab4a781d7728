import type { KnownHashes } from '../db/row-writes';
import type { ImportFinding } from '../db/import-findings';
import type { ImportItem, LabelConflict } from './import-types';
import type { ReadOutcome } from './prepare-image';
import type { ReadFile } from './read-chunks';
import { tooLargeForServer } from './rejections';
import type { LabeledFile, Rejection } from './walk-labeled-folder';

interface Deduped {
  fresh: ReadFile[];
  /** Items whose image is already stored (in the table, or earlier in this import). */
  stored: ImportItem[];
  /** Already in the table before this import. */
  present: number;
  /** Identical to another file of this same import. */
  duplicates: number;
  conflicts: LabelConflict[];
  /** The conflicts and duplicates as the table of findings keeps them (sources relative). */
  findings: ImportFinding[];
}

/**
 * A file whose image is already kept (earlier in `this import`, or in `the table`): under another
 * label it is a conflict, reported and recorded; under the same label in this import, a duplicate
 * file, recorded (one already in the table is a re-import, which is neither).
 */
function noteSameImage(
  out: Deduped,
  file: LabeledFile,
  kept: { label: string; source: string },
  keptBy: 'this import' | 'the table',
): void {
  const conflict = kept.label !== file.label;
  if (!conflict && keptBy === 'the table') return;
  out.findings.push({
    kind: conflict ? 'conflict' : 'duplicate',
    source: file.relative,
    label: file.label,
    keptSource: kept.source,
    keptLabel: kept.label,
  });
  if (conflict)
    out.conflicts.push({ path: file.path, label: file.label, existingLabel: kept.label, existingSource: kept.source });
}

/** Bytes that came back from a worker thread arrive as a plain Uint8Array: viewed as a Buffer, not copied. */
function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function readFailure(outcome: Exclude<ReadOutcome, { bytes: Uint8Array }>, packet: number): string {
  switch (outcome.failure) {
    case 'too-large':
      return tooLargeForServer(outcome.size, packet);
    case 'not-regular':
      return 'not a regular file';
    case 'unreadable':
      return `cannot read (${outcome.code})`;
    case 'empty':
      return 'empty file';
  }
  throw new Error('unknown read failure');
}

/** Drops files already in the table or already seen in this run; the rest are new images. */
export async function dedupe(
  lookup: (hashes: Buffer[]) => Promise<KnownHashes>,
  fits: ImportItem[],
  outcomes: ReadOutcome[],
  seen: Map<string, LabeledFile>,
  rejected: Rejection[],
  packet: number,
): Promise<Deduped> {
  const out: Deduped = { fresh: [], stored: [], present: 0, duplicates: 0, conflicts: [], findings: [] };
  const read: ReadFile[] = [];
  for (const [i, file] of fits.entries()) {
    const outcome = outcomes[i];
    if ('failure' in outcome) {
      rejected.push({ path: file.path, reason: readFailure(outcome, packet) });
      continue;
    }
    const bytes = asBuffer(outcome.bytes);
    const sha = asBuffer(outcome.sha);
    const key = sha.toString('hex');
    const earlier = seen.get(key);
    if (earlier) {
      out.duplicates++;
      out.stored.push(file);
      noteSameImage(out, file, { label: earlier.label, source: earlier.relative }, 'this import');
      continue;
    }
    seen.set(key, file);
    read.push({ file, sha, bytes });
  }
  if (read.length === 0) return out;
  const byHash = await lookup(read.map((r) => r.sha));
  for (const r of read) {
    const existing = byHash.get(r.sha.toString('hex'));
    if (!existing) {
      out.fresh.push(r);
      continue;
    }
    out.present++;
    out.stored.push(r.file);
    noteSameImage(out, r.file, existing, 'the table');
  }
  return out;
}
