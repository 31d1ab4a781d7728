import type { Db } from '../db/db';
import { recordImportFindings, type ImportFinding } from '../db/import-findings';
import { tableWrites } from '../db/shard-writes';
import type { Dataset } from '../db/registry';
import { openPreparer } from './prepare-pool';
import { defaultImportThreads } from '../config';
import type { ImportItem, ImportOptions, ImportSummary, ItemSource } from './import-types';
import { openDataset } from './open-dataset';
import { SourceImport, type WriteTarget } from './source-import';
import { walkLabeledFolder } from './walk-labeled-folder';

export type {
  ImportItem,
  ImportOptions,
  ImportProgress,
  ImportSummary,
  ItemSource,
  LabelConflict,
  LabelRespelling,
  ShapeNote,
} from './import-types';
export { openDataset } from './open-dataset';

/** Below this many files an import reads and decodes on its own thread, whatever the threads asked. */
const SMALL_IMPORT_FILES = 256;

/**
 * The original's InsertData2Table, done safely: every file is hashed, known hashes are skipped,
 * new images are decoded to the dataset's shape and written in multi-row INSERTs sized under the
 * server's max_allowed_packet. Each INSERT is one atomic statement, so a killed import leaves
 * only whole batches, and re-running it finishes the job without duplicates.
 */
export async function importFolder(db: Db, dir: string, opts: ImportOptions): Promise<ImportSummary> {
  // The table first: a bad name or a missing table is reported before any folder is walked.
  const dataset = await openDataset(db, opts);
  const walk = walkLabeledFolder(dir, opts.layout);
  const summary = await importFromSource(
    db,
    dataset,
    { items: walk.files, rejected: walk.rejected, total: walk.files.length },
    opts,
  );
  return { ...summary, layout: walk.layout };
}

/** Any source (archive, stream, manifest) into a dataset table, creating it when asked. */
export async function importSource(db: Db, source: ItemSource, opts: ImportOptions): Promise<ImportSummary> {
  return importFromSource(db, await openDataset(db, opts), source, opts);
}

/**
 * Imports labelled images that are not files of a folder, through the same path as a folder:
 * hashed, deduplicated against the table, decoded, split by hash, batched.
 */
export async function importImages(db: Db, items: ImportItem[], opts: ImportOptions): Promise<ImportSummary> {
  return importSource(db, { items, rejected: [], total: items.length }, opts);
}

/**
 * The one import pipeline. `dataset` comes from openDataset (a watch opens it once and calls
 * this per batch). Rejections the source adds while it is read are reported with the rest.
 */
export async function importFromSource(
  db: Db,
  dataset: Dataset,
  source: ItemSource,
  opts: ImportOptions,
): Promise<ImportSummary> {
  const started = Date.now();
  const run = new SourceImport(dataset, source, opts, await writeTarget(db, dataset, opts), started);
  // Starting threads (each loads the decoders) costs more than a small import takes on one.
  const small = source.total !== undefined && source.total < SMALL_IMPORT_FILES;
  const preparer = opts.preparer ?? openPreparer(small ? 1 : (opts.threads ?? defaultImportThreads()));
  try {
    await run.readAll(preparer);
  } finally {
    if (!opts.preparer) await preparer.close();
  }
  await run.settle();
  const findingsNotKept = await keepFindings(db, opts.table, run.findings);
  run.report();
  return run.summary(findingsNotKept);
}

async function writeTarget(db: Db, dataset: Dataset, opts: ImportOptions): Promise<WriteTarget> {
  const packet = await db.maxAllowedPacket();
  const rows = await tableWrites(db, opts.table, dataset.shards !== null, {
    direct: opts.routeShardWrites !== false,
    versionKind: opts.versionKind ?? 'import',
  });
  return { db, packet, lookup: rows.knownHashes, write: rows.insertRows };
}

/** Keeps what the import found; a user who may not is told why, and the import still succeeds. */
async function keepFindings(db: Db, table: string, findings: ImportFinding[]): Promise<string | undefined> {
  try {
    await recordImportFindings(db, table, findings);
    return undefined;
  } catch (e) {
    if ((e as { reason?: string }).reason === 'privilege-missing') return (e as Error).message;
    throw e;
  }
}
