import path from 'node:path';
import {
  parseBackendTimeout,
  parseImportThreads,
  readSettings,
  resolveConfig,
  type ConfigOverrides,
  type MldbConfig,
  type Settings,
} from './config';
import {
  createDataset,
  describeDataset,
  dropDataset,
  getDataset,
  requireShape,
  listDatasets,
  type CreateDatasetOptions,
  type Dataset,
  type DatasetDetails,
  type DatasetSummary,
} from './db/registry';
import { labels as tableLabels } from './db/table-stats';
import { listRows, type RowSummary } from './db/row-listings';
import { type RowFilter, type RowSubset } from './db/row-selection';
import type { Db } from './db/db';
import {
  deleteModel,
  getModel,
  listModels,
  modelNameFor,
  readModelFiles,
  storeModel,
  type StoredModel,
} from './db/models';
import { openDb } from './db/pool';
import { parseTableRef, resolveReadTarget } from './db/table-ref';
import { purgeHistory, type PurgeResult } from './db/history-purge';
import { diffVersions, type TableDiff } from './db/table-diff';
import { UsageError } from './errors';
import { editRows, type EditOptions, type EditResult, type RowSelector } from './db/row-edits';
import { listVersions, tagVersion, type TableVersion } from './db/table-versions';
import { studyLeaderboard, type RankedTrial } from './study/leaderboard';
import { openStudy } from './study/study';
import type { StudySpec } from './study/types';
import { runWorker, type Objective, type WorkerOptions, type WorkerSummary } from './study/worker';
import { exportFolder, type ExportSummary } from './export/export-folder';
import {
  importFolder,
  importImages,
  importSource,
  type ImportOptions,
  type ImportSummary,
  type ItemSource,
  type LabelConflict,
} from './ingest/import-pipeline';
import { watchImport, type WatchImportOptions, type WatchSummary } from './ingest/watch-import';
import type { Rejection } from './ingest/walk-labeled-folder';
import {
  correctedInputs,
  correctedWithoutInput,
  listPredictions,
  markPromoted,
  type PredictionFilter,
  type PredictionSummary,
} from './db/predictions';
import type { Split } from './db/schema';
import { getRun, listRuns, type RunFilter } from './db/run-queries';
import { type RunDetails, type RunRecord } from './db/run-types';
import type { ReportResult } from './report/report';
import type { tf } from './ml/tf';
import type { TrainReport, TrainRunOptions } from './ml/training-run';
import type { EvaluationReport } from './ml/evaluate';
import type { SuspectsReport } from './ml/suspects';
import type { Prediction, PredictionFailure } from './ml/predict';
import type { SavedModel } from './ml/artifacts';
import type { EngineChoice } from './ml/engine-names';
import type { OpenedEngine } from './ml/inference-engine';

/** TensorFlow.js loads only when a method needs it: dataset work stays fast to start. */
const ml = {
  tf: () => (require('./ml/tf') as typeof import('./ml/tf')).tf,
  pixels: () => require('./samples/pixel-matrix') as typeof import('./samples/pixel-matrix'),
  train: () => require('./ml/train') as typeof import('./ml/train'),
  run: () => require('./ml/training-run') as typeof import('./ml/training-run'),
  evaluate: () => require('./ml/evaluate') as typeof import('./ml/evaluate'),
  predict: () => require('./ml/predict') as typeof import('./ml/predict'),
  suspects: () => require('./ml/suspects') as typeof import('./ml/suspects'),
  models: () => require('./ml/model-source') as typeof import('./ml/model-source'),
  backend: () => require('./ml/backend') as typeof import('./ml/backend'),
  engine: () => require('./ml/inference-engine') as typeof import('./ml/inference-engine'),
};

/** Rows as tensors (the original's DrawData2Numpy). The caller disposes `xs` and `ys`. */
export interface DrawnTensors {
  /** N × H × W × C, floats in [0, 1]. */
  xs: tf.Tensor4D;
  /** N × classes, one-hot in the order of `labels`. */
  ys: tf.Tensor2D;
  /** Every label of the table, in class-index order. */
  labels: string[];
  /** Row ids, in the order of xs. */
  ids: number[];
}

export type TrainMethodOptions = Omit<TrainRunOptions, 'table' | 'database'> & { table?: string };

/** What `optimize` did: this worker's share, and the whole study ranked (the selected trial first). */
export interface StudyOutcome {
  worker: WorkerSummary;
  trials: RankedTrial[];
  selected: RankedTrial | null;
}

/** What `promotePredictions` did. */
export interface PromoteSummary {
  table: string;
  /** Corrected predictions with a logged input, not promoted into this table before. */
  corrected: number;
  imported: number;
  /** Already in the table (the same image, imported or promoted before). */
  alreadyPresent: number;
  /** Corrections whose image is stored under another label: reported, the stored label kept. */
  conflicts: LabelConflict[];
  rejected: Rejection[];
  /** Corrected predictions whose input was not logged (serve without --log-inputs): not promotable. */
  withoutInput: number;
}

export interface MlDbOptions extends ConfigOverrides {
  /** A fully resolved configuration; when given, the other options are ignored. */
  config?: MldbConfig;
  /** The environment's other settings, read once (config.ts readSettings); read here when not given. */
  settings?: Settings;
  /** Called with notes worth knowing that are not errors (e.g. a shard read through the head). */
  onNote?: (text: string) => void;
}

/**
 * The programmatic API that the CLI wraps: one object per database, holding one connection
 * pool that is opened on first use and closed by `close()`. Table arguments default to the
 * configured table (`--table`, MLDB_TABLE, or "images").
 *
 * ```ts
 * const db = new MlDb({ url: 'mysql://root@127.0.0.1:3306/mldb' });
 * try {
 *   await db.insertFolder('./digits', { create: true });
 *   console.table(await db.listTables());
 * } finally {
 *   await db.close();
 * }
 * ```
 */
export class MlDb {
  readonly config: MldbConfig;
  readonly settings: Settings;
  #db?: Promise<Db>;
  readonly #onNote?: (text: string) => void;

  constructor(options: MlDbOptions = {}) {
    this.config = options.config ?? resolveConfig(options);
    this.settings = options.settings ?? readSettings();
    this.#onNote = options.onNote;
  }

  /** The underlying pool; opened (and the database created) on first use. */
  connection(): Promise<Db> {
    if (!this.#db) {
      // Parsed in the promise: a bad MLDB_BACKEND_TIMEOUT fails the connection, as a refused one does.
      this.#db = (async () =>
        openDb(this.config, this.#onNote, {
          backendTimeoutSeconds: parseBackendTimeout(this.settings.backendTimeout),
        }))();
      this.#db.catch(() => (this.#db = undefined));
    }
    return this.#db;
  }

  /** Creates a dataset table and its registry row (the original's CreatTable). */
  async createTable(name = this.config.table, options: CreateDatasetOptions = {}): Promise<Dataset> {
    return createDataset(await this.connection(), name, options);
  }

  /** Drops a dataset table and its registry row (the original's DelTable). */
  async dropTable(name = this.config.table): Promise<void> {
    return dropDataset(await this.connection(), name);
  }

  /** Every dataset with its row count, label count, shape and size. */
  async listTables(): Promise<DatasetSummary[]> {
    return listDatasets(await this.connection());
  }

  /** Counts per label × split, shape and sizes of one dataset (`NAME@VERSION`: as that version held them). */
  async describe(name = this.config.table): Promise<DatasetDetails> {
    const db = await this.connection();
    const { table, asOf } = await resolveReadTarget(db, name);
    return describeDataset(db, table, asOf);
  }

  /** Rows without their BLOBs (the original's AcquireData), by keyset paging; `NAME@VERSION` reads that version. */
  async rows(name = this.config.table, filter: RowFilter = {}): Promise<RowSummary[]> {
    const db = await this.connection();
    const { table, asOf } = await resolveReadTarget(db, name);
    return listRows(db, table, { ...filter, ...(asOf !== undefined && { asOf }) });
  }

  /** Alias of `rows`, under the original's name. */
  acquireData(name = this.config.table, filter: RowFilter = {}): Promise<RowSummary[]> {
    return this.rows(name, filter);
  }

  /**
   * An import's options with this database's defaults: the configured table, and the threads
   * MLDB_IMPORT_THREADS gives when the caller names none (else the pipeline's own default).
   */
  #importOptions<T extends { table?: string; threads?: number }>(options: T): T & { table: string } {
    return {
      ...options,
      table: options.table ?? this.config.table,
      threads: options.threads ?? parseImportThreads(this.settings.importThreads),
    };
  }

  /** Imports DIR/<label>/<images> (the original's InsertData2Table): idempotent and resumable. */
  async insertFolder(dir: string, options: Partial<ImportOptions> = {}): Promise<ImportSummary> {
    return importFolder(await this.connection(), dir, this.#importOptions(options));
  }

  /**
   * Imports from any source: an archive (ingest/archive.ts openArchiveFile/openArchiveStream), a
   * manifest (ingest/manifest.ts openManifest), or your own iterable of labelled images.
   */
  async insertFrom(source: ItemSource, options: Partial<ImportOptions> = {}): Promise<ImportSummary> {
    return importSource(await this.connection(), source, this.#importOptions(options));
  }

  /** Imports files as they arrive under DIR until `options.signal` fires (`mldb import --watch`). */
  async watchFolder(
    dir: string,
    options: Omit<WatchImportOptions, 'table'> & { table?: string },
  ): Promise<WatchSummary> {
    return watchImport(await this.connection(), dir, this.#importOptions(options));
  }

  /** Writes DIR/<label>/<file> with the original bytes of every (filtered) row. */
  async exportTable(
    dir: string,
    options: Omit<RowFilter, 'afterId' | 'limit'> & { table?: string } = {},
  ): Promise<ExportSummary> {
    const { table: name = this.config.table, ...filter } = options;
    const db = await this.connection();
    const { table, asOf } = await resolveReadTarget(db, name);
    return exportFolder(db, table, dir, { ...filter, ...(asOf !== undefined && { asOf }) });
  }

  /**
   * Rows → tensors without decoding anything (the original's DrawData2Numpy): the stored pixels
   * of one split (default train) scaled to [0, 1], with one-hot labels.
   */
  async drawTensors(name = this.config.table, filter: { split?: Split; label?: string } = {}): Promise<DrawnTensors> {
    const db = await this.connection();
    const shape = requireShape(await getDataset(db, name));
    const labels = await tableLabels(db, name);
    const m = await ml
      .pixels()
      .readScaledMatrix(db, name, shape, { split: filter.split ?? 'train', label: filter.label });
    const tfjs = ml.tf();
    const classIndex = new Map(labels.map((l, i) => [l, i]));
    const ys = new Float32Array(m.count * labels.length);
    m.labels.forEach((l, i) => (ys[i * labels.length + classIndex.get(l)!] = 1));
    return {
      xs: tfjs.tensor4d(m.xs, [m.count, shape.height, shape.width, shape.channels]),
      ys: tfjs.tensor2d(ys, [m.count, labels.length]),
      labels,
      ids: m.ids,
    };
  }

  /**
   * Trains a named architecture on a table (the original's ChoseModel), evaluates it on the test
   * split and saves it with its metadata. The backend is chosen as `backend` says (default auto).
   */
  async train(options: TrainMethodOptions): Promise<TrainReport> {
    const { table: name = this.config.table, onnx = this.settings.onnx, ...rest } = options;
    const db = await this.connection();
    // Only a version is looked up here: a plain table is checked by trainAndSave after the options,
    // so that a bad flag is named before a missing table.
    const ref = parseTableRef(name);
    const asOf = ref.at === undefined ? undefined : (await resolveReadTarget(db, name)).asOf;
    const table = ref.table;
    const tableVersion = asOf ?? rest.tableVersion;
    return ml.run().trainAndSave(db, { ...rest, table, tableVersion, onnx, database: this.config.database });
  }

  /**
   * A model by reference: a folder, `run:ID`, a stored model's id, name or `name@version`. The
   * caller disposes `model`. TensorFlow's backend must be selected first (see selectBackend).
   */
  async openModel(ref: string): Promise<SavedModel> {
    return ml.models().openModel(ref, () => this.connection());
  }

  /** A saved model against one split (default test) of a table: loss, accuracy, per class, confusion. */
  async evaluate(
    modelDir: string,
    options: {
      table?: string;
      split?: Split;
      memoryBudget?: number;
      /** Connections reading the rows at once from one server (default from the cores). */
      readParallelism?: number;
      backend?: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
      /** onnxruntime when installed (auto), or one of them. */
      engine?: EngineChoice;
      /** Only rows of these labels and sources. */
      subset?: RowSubset;
    } = {},
  ): Promise<EvaluationReport & { engineFallback?: string }> {
    return this.#withEngine(modelDir, options, async (saved, { engine, fallback }) => {
      const db = await this.connection();
      const name = options.table ?? saved.metadata.dataset?.table ?? this.config.table;
      const { table, asOf } = await resolveReadTarget(db, name);
      const report = await ml
        .evaluate()
        .evaluateClassifier(
          db,
          ml.evaluate().classifierOf(saved, engine),
          table,
          options.split ?? 'test',
          { memoryBudget: options.memoryBudget, readParallelism: options.readParallelism },
          { asOf },
          options.subset,
        );
      return { ...report, ...(fallback && { engineFallback: fallback }) };
    });
  }

  /**
   * The rows of a table (every split; default the model's table) whose stored label the model
   * most confidently contradicts, by confident learning (docs/curation.md), the first `limit`.
   */
  async suspects(
    modelRef: string,
    options: {
      table?: string;
      limit?: number;
      memoryBudget?: number;
      readParallelism?: number;
      backend?: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
      engine?: EngineChoice;
    } = {},
  ): Promise<SuspectsReport & { engineFallback?: string }> {
    return this.#withEngine(modelRef, options, async (saved, { engine, fallback }) => {
      const db = await this.connection();
      const name = options.table ?? saved.metadata.dataset?.table ?? this.config.table;
      const { table, asOf } = await resolveReadTarget(db, name);
      const report = await ml.suspects().findSuspects(db, saved, engine, table, {
        asOf,
        database: this.config.database,
        limit: options.limit,
        memoryBudget: options.memoryBudget,
        readParallelism: options.readParallelism,
      });
      return { ...report, ...(fallback && { engineFallback: fallback }) };
    });
  }

  /** Classifies image files with a saved model; unreadable files are listed in `failures`. */
  async predict(
    modelDir: string,
    files: string[],
    options: { top?: number; backend?: 'auto' | 'tensorflow' | 'wasm' | 'cpu'; engine?: EngineChoice } = {},
  ): Promise<{ predictions: Prediction[]; failures: PredictionFailure[]; engine: string; engineFallback?: string }> {
    return this.#withEngine(modelDir, options, async (saved, { engine, fallback }) => {
      const r = await ml.predict().predictFiles(saved, files, { top: options.top, engine });
      return { ...r, engine: engine.name, ...(fallback && { engineFallback: fallback }) };
    });
  }

  /** A model by reference and the engine that runs it (onnxruntime or tfjs), freed after `fn`. */
  async #withEngine<T>(
    ref: string,
    options: { backend?: 'auto' | 'tensorflow' | 'wasm' | 'cpu'; engine?: EngineChoice },
    fn: (saved: SavedModel, opened: OpenedEngine) => Promise<T>,
  ): Promise<T> {
    await ml.backend().selectBackend(options.backend ?? 'auto');
    const saved = await this.openModel(ref);
    let opened: OpenedEngine | undefined;
    try {
      opened = await ml.engine().openEngine(saved, options.engine ?? 'auto');
      return await fn(saved, opened);
    } finally {
      await opened?.engine.dispose();
      saved.model.dispose();
    }
  }

  /** Stored models (mldb_models), newest first. */
  async storedModels(filter: { name?: string; limit?: number } = {}): Promise<StoredModel[]> {
    return listModels(await this.connection(), filter);
  }

  /**
   * Stores a model folder in mldb_models as the next version of `name` (default: the folder's
   * name). The folder is loaded first: a damaged model is refused, not stored.
   */
  async pushModel(dir: string, name?: string): Promise<StoredModel> {
    const artifacts = require('./ml/artifacts') as typeof import('./ml/artifacts');
    const files = artifacts.readModelFolder(dir);
    const saved = await artifacts.savedModelFromFiles(files, path.resolve(dir));
    saved.model.dispose();
    const m = saved.metadata;
    const accuracy = (m.metrics as { testAccuracy?: unknown } | undefined)?.testAccuracy;
    return storeModel(
      await this.connection(),
      {
        name: name ?? modelNameFor(path.resolve(dir)),
        runId: typeof m.runId === 'number' ? m.runId : null,
        architecture: String(m.architecture ?? 'unknown'),
        dataset: m.dataset?.table ?? null,
        labels: m.labels,
        inputShape: m.inputShape,
        testAccuracy: typeof accuracy === 'number' ? accuracy : null,
      },
      files,
    );
  }

  /** Writes a stored model (`run:ID`, id, name or name@version) as a model folder. */
  async pullModel(ref: string, dir: string): Promise<{ model: StoredModel; dir: string }> {
    const artifacts = require('./ml/artifacts') as typeof import('./ml/artifacts');
    const db = await this.connection();
    const model = await getModel(db, ref);
    artifacts.checkSaveTarget(dir);
    return { model, dir: await artifacts.writeModelFolder(dir, await readModelFiles(db, model)) };
  }

  /**
   * A saved model (a folder, run:ID or a stored model) as an ONNX file at `out`, with its labels
   * and preprocessing in the file's metadata. Written beside and renamed into place.
   */
  async exportModel(ref: string, out: string): Promise<{ model: string; file: string; bytes: number }> {
    const onnxFile = require('./ml/onnx-file') as typeof import('./ml/onnx-file');
    const target = onnxFile.checkOnnxTarget(out);
    // Reading weights needs a backend; the cpu one loads nothing (this is no computation).
    await ml.backend().selectBackend('cpu');
    const saved = await this.openModel(ref);
    try {
      return { model: saved.dir, ...onnxFile.writeOnnxFile(saved, target) };
    } finally {
      saved.model.dispose();
    }
  }

  /** Deletes one stored model and its weights. */
  async deleteStoredModel(ref: string): Promise<StoredModel> {
    const db = await this.connection();
    const model = await getModel(db, ref);
    await deleteModel(db, model);
    return model;
  }

  /** The prediction log (mldb_predictions), newest first, without inputs. */
  async predictions(filter: PredictionFilter = {}): Promise<PredictionSummary[]> {
    return listPredictions(await this.connection(), filter);
  }

  /**
   * The feedback loop: corrected predictions whose input was logged go into a dataset table
   * under their true label, through the import path (hashed, deduplicated, split by hash).
   * Each is marked as promoted, so running it again adds only new corrections.
   */
  async promotePredictions(
    options: Pick<ImportOptions, 'create'> & { table?: string; model?: string; since?: Date } = {},
  ): Promise<PromoteSummary> {
    const { table = this.config.table, model, since, create } = options;
    const db = await this.connection();
    const total: PromoteSummary = {
      table,
      corrected: 0,
      imported: 0,
      alreadyPresent: 0,
      conflicts: [],
      rejected: [],
      withoutInput: await correctedWithoutInput(db, { model, since }),
    };
    let afterId: string | undefined;
    for (;;) {
      const page = await correctedInputs(db, table, { model, since, afterId });
      if (page.length === 0) break;
      afterId = page[page.length - 1].id;
      const items = page.map((p) => ({
        path: `prediction:${p.id}`,
        relative: `prediction:${p.id}${p.fileName ? `/${p.fileName}` : ''}`.slice(0, 1024),
        label: p.trueLabel,
        bytes: p.input,
      }));
      const s = await importImages(db, items, this.#importOptions({ table, create, versionKind: 'promote' }));
      const rejected = new Set(s.rejected.map((r) => r.path));
      await markPromoted(
        db,
        page.filter((p) => !rejected.has(`prediction:${p.id}`)).map((p) => p.id),
        table,
      );
      total.corrected += page.length;
      total.imported += s.imported;
      total.alreadyPresent += s.alreadyPresent + s.duplicates;
      total.conflicts.push(...s.conflicts);
      total.rejected.push(...s.rejected);
    }
    return total;
  }

  /**
   * Gives the rows `ids` the label `to` (created, as an import would, if the table has none of it
   * yet): one new version, all or nothing. An unknown id is an error naming it.
   */
  async relabel(name: string, ids: readonly number[], to: string, options: EditOptions = {}): Promise<EditResult> {
    return editRows(await this.connection(), name, { ids }, { kind: 'relabel', to }, options);
  }

  /** Removes rows (by ids, source glob or label) as one new version; older versions still read them until a purge. */
  async removeRows(name: string, selector: RowSelector, options: EditOptions = {}): Promise<EditResult> {
    return editRows(await this.connection(), name, selector, { kind: 'remove' }, options);
  }

  /** Moves rows `ids` to `split` as one new version. */
  async moveSplit(name: string, ids: readonly number[], split: Split, options: EditOptions = {}): Promise<EditResult> {
    return editRows(await this.connection(), name, { ids }, { kind: 'move', to: split }, options);
  }

  /** Every version of a table, oldest first: what made it, when, by whom, how many rows. */
  async versions(name = this.config.table): Promise<TableVersion[]> {
    const db = await this.connection();
    await getDataset(db, name);
    return listVersions(db, name);
  }

  /** Names a version (default: the latest) of a table; `TABLE@NAME` then reads it. */
  async tag(name: string, tag: string, version?: number): Promise<number> {
    const db = await this.connection();
    await getDataset(db, name);
    return tagVersion(db, name, tag, version);
  }

  /**
   * Forgets the versions of a table before `before` (a number or tag): the history they alone
   * needed, removed rows' bytes included. Versions from `before` on read as they did.
   */
  async purge(
    name: string,
    before: string,
    options: { dryRun?: boolean; confirm?: (plan: PurgeResult) => Promise<boolean> } = {},
  ): Promise<PurgeResult> {
    const db = await this.connection();
    const { table } = await resolveReadTarget(db, name);
    return purgeHistory(db, table, before, options);
  }

  /** What changed from `a` to `b` (`TABLE@N`, `TABLE@TAG` or `TABLE`: the current rows) of one table. */
  async diff(a: string, b: string): Promise<TableDiff> {
    const db = await this.connection();
    const [from, to] = [await resolveReadTarget(db, a), await resolveReadTarget(db, b)];
    if (from.table !== to.table) {
      throw new UsageError(`a diff compares two versions of one table, not "${from.table}" and "${to.table}"`);
    }
    return diffVersions(db, from.table, from.asOf, to.asOf);
  }

  /** Recorded training runs, newest first (see `mldb runs`). */
  async runs(filter: RunFilter = {}): Promise<RunRecord[]> {
    return listRuns(await this.connection(), filter);
  }

  /** One run with its epochs and test details. */
  async run(id: number): Promise<RunDetails> {
    return getRun(await this.connection(), id);
  }

  /** Writes a run's report (PNG plots and index.html) to `dir`. */
  async report(id: number, dir: string): Promise<ReportResult> {
    const { writeReport } = require('./report/report') as typeof import('./report/report');
    return writeReport(await this.connection(), id, dir);
  }

  /**
   * Runs `objective` as one worker of the study `spec` (created by the first worker to get there,
   * joined by the others, on any machine that reaches this database) until nothing is left to
   * claim, then ranks the study's trials. Training is one objective: hook a trial into
   * `train({ callbacks: [new TrialReporting(trial, 'val_accuracy')] })`.
   */
  async optimize(spec: StudySpec, objective: Objective, options: WorkerOptions = {}): Promise<StudyOutcome> {
    const db = await this.connection();
    const study = await openStudy(db, spec);
    const worker = await runWorker(db, study, objective, options);
    return { worker, ...(await studyLeaderboard(db, study)) };
  }

  /** Closes the pool. The object can be used again afterwards; it reconnects on demand. */
  async close(): Promise<void> {
    const pending = this.#db;
    this.#db = undefined;
    if (pending) await (await pending.catch(() => undefined))?.close();
  }
}
