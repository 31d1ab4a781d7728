import crypto from 'node:crypto';
import type { Db } from './db';
import { escapeId } from './identifiers';
import { IMPORT_FINDINGS_TABLE } from './schema';

/** What an import found and did not store: a conflict (same image, another label) or a duplicate file. */
export interface ImportFinding {
  kind: 'conflict' | 'duplicate';
  /** The file that was not stored, relative to what was imported. */
  source: string;
  label: string;
  /** The stored image it is the same as. */
  keptSource: string;
  keptLabel: string;
}

const T = escapeId(IMPORT_FINDINGS_TABLE);
const ROWS_PER_INSERT = 500;

/** Keeps an import's findings; the same finding from a re-import is there once. */
export async function recordImportFindings(db: Db, dataset: string, findings: readonly ImportFinding[]): Promise<void> {
  for (let from = 0; from < findings.length; from += ROWS_PER_INSERT) {
    const part = findings.slice(from, from + ROWS_PER_INSERT);
    const params = part.flatMap((f) => [
      dataset,
      f.kind,
      f.source,
      f.label,
      f.keptSource,
      f.keptLabel,
      crypto.createHash('sha256').update(`${dataset}\0${f.kind}\0${f.source}\0${f.keptSource}`).digest(),
    ]);
    await db.run(
      `INSERT IGNORE INTO ${T} (dataset, kind, source, label, kept_source, kept_label, finding_sha256) VALUES ` +
        part.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', '),
      params,
    );
  }
}

export interface FindingCounts {
  conflicts: number;
  duplicates: number;
}

export async function countImportFindings(db: Db, dataset: string): Promise<FindingCounts> {
  const rows = await db.query<{ kind: string; n: number }>(
    `SELECT kind, COUNT(*) AS n FROM ${T} WHERE dataset = ? GROUP BY kind`,
    [dataset],
  );
  const n = (kind: string) => Number(rows.find((r) => r.kind === kind)?.n ?? 0);
  return { conflicts: n('conflict'), duplicates: n('duplicate') };
}

/** One page of a dataset's findings of one kind, oldest first (keyset by id). */
export async function importFindingsPage(
  db: Db,
  dataset: string,
  kind: ImportFinding['kind'],
  afterId: number,
  limit: number,
): Promise<Array<ImportFinding & { id: number; foundAt: string }>> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT id, kind, source, label, kept_source, kept_label, found_at FROM ${T} ` +
      'WHERE dataset = ? AND kind = ? AND id > ? ORDER BY id LIMIT ?',
    [dataset, kind, afterId, limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    kind: r.kind as ImportFinding['kind'],
    source: r.source as string,
    label: r.label as string,
    keptSource: r.kept_source as string,
    keptLabel: r.kept_label as string,
    foundAt: (r.found_at as Date).toISOString(),
  }));
}
