import type { Split } from '../db/enums';
import type { ImageShape, ResizeMode } from '../image-shape';
import type { Layout } from './layout';
import type { Preparer } from './prepare-pool';
import type { LabeledFile, Rejection } from './walk-labeled-folder';

/** What an import is asked, reports and reads: the pipeline's types, shared by every source. */

export interface ImportOptions {
  table: string;
  /** Create the table when it does not exist. */
  create?: boolean;
  /** The dataset's shape when this import creates it; else taken from the first image. */
  shape?: Partial<ImageShape>;
  testFraction?: number;
  validationFraction?: number;
  /**
   * How the table this import creates resizes images of another aspect ratio (default stretch);
   * for an existing table it must be the table's own, as the split fractions must.
   */
  resize?: ResizeMode;
  /** Every image goes to this split (e.g. an official test set), whatever the layout or hash says. */
  split?: Split;
  /**
   * A sharded table: write each batch's parts straight to their backends (default), or all through
   * the head (false; what `npm run bench -- shards` compares against).
   */
  routeShardWrites?: boolean;
  /** What the versions each batch makes say it was (default `import`; `predictions promote` says `promote`). */
  versionKind?: 'import' | 'promote';
  /** Images whose header declares more pixels are rejected before decoding (MAX_PIXELS by default). */
  maxPixels?: number;
  /** How a folder names labels (layout.ts); `auto` by default. */
  layout?: Layout;
  /**
   * Threads that read, hash and decode (1: the import's own; more: a pool of workers, the import's
   * thread then deduplicating, batching and writing); by default config.defaultImportThreads (MlDb
   * passes MLDB_IMPORT_THREADS, read once per command by config.readSettings, when it is set).
   * The rows are the same either way.
   */
  threads?: number;
  /** Threads already open (the watch keeps one pool for all its batches); left open afterwards. */
  preparer?: Preparer;
  /**
   * Called when images are safely in the table: after their INSERT committed, or at once when
   * they were already there. What a watch needs to move or forget files.
   */
  onStored?: (items: readonly ImportItem[]) => void;
  onProgress?: (p: ImportProgress) => void;
  /** Called once when the dataset's shape is completed from the first image. */
  onShape?: (shape: ImageShape, note: ShapeNote) => void;
  /**
   * Polled between chunks of files: true ends the import after the batches already made are
   * written (each one whole), with `stopped` set. Running it again stores the rest.
   */
  shouldStop?: () => boolean;
}

export interface ImportProgress {
  done: number;
  /** Unknown for streams (archives, stdin). */
  total?: number;
  imported: number;
  alreadyPresent: number;
  rejected: number;
  elapsedSeconds: number;
}

export interface ImportSummary {
  table: string;
  /** The layout that was read (`auto` resolved); absent for sources without folders. */
  layout?: 'labels' | 'splits';
  shape: ImageShape | null;
  /** True when this import completed the dataset's shape from its first image. */
  shapeFromFirstImage: boolean;
  /**
   * The first image was stored with 3 channels although every pixel is gray (R = G = B): many
   * tools save grayscale as RGB. `channels: 1` would store a third of the bytes and train ~3× faster.
   */
  grayStoredAsRgb: boolean;
  files: number;
  imported: number;
  /** Already in the table before this import (a re-import adds nothing). */
  alreadyPresent: number;
  /** Files identical to another file of this import: stored once. */
  duplicates: number;
  /** Identical images under different labels: the first label seen is kept. */
  conflicts: LabelConflict[];
  /** Labels as a source spelled them and as they are stored (canonicalLabel), where they differ. */
  labelsRespelled: LabelRespelling[];
  rejected: Rejection[];
  seconds: number;
  imagesPerSecond: number;
  /** Ended early by `shouldStop` (a signal): the files not reached are not counted anywhere. */
  stopped?: boolean;
  /**
   * Why the conflicts and duplicates were not kept in mldb_import_findings (a user without INSERT
   * there): the rows are stored all the same, and the import says so instead of failing.
   */
  findingsNotKept?: string;
}

export interface LabelRespelling {
  from: string;
  to: string;
}

/** What the first image says about the shape it fixed. */
export interface ShapeNote {
  /** Which parts came from the image (the rest were given). */
  fromImage: (keyof ImageShape)[];
  grayStoredAsRgb: boolean;
}

/** Images from anywhere: a list, an archive being read, a manifest. */
export interface ItemSource {
  items: Iterable<ImportItem> | AsyncIterable<ImportItem>;
  /** Entries the source could not use; it may add to it while it is read. */
  rejected: Rejection[];
  /** How many items there will be, when known in advance (for the progress display). */
  total?: number;
}

/**
 * An image to import from anywhere: a walked file (read when its turn comes), or bytes already
 * in memory (`bytes`, e.g. a corrected prediction's logged input), with the label it goes under.
 */
export interface ImportItem extends LabeledFile {
  bytes?: Buffer;
}

/** The same image stored (or seen) under another label: a labelling problem worth showing. */
export interface LabelConflict {
  path: string;
  label: string;
  /** The label the identical image already has. */
  existingLabel: string;
  /** Where that image came from (its source path in the table, or a file of this import). */
  existingSource: string;
}
