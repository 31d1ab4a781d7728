import { resolveConfig, type ConfigOverrides, type MldbConfig } from './config';
import {
  createDataset,
  describeDataset,
  dropDataset,
  listDatasets,
  listRows,
  type CreateDatasetOptions,
  type Dataset,
  type DatasetDetails,
  type DatasetSummary,
  type RowFilter,
  type RowSummary,
} from './db/datasets';
import { openDb, type Db } from './db/pool';
import { exportFolder, type ExportSummary } from './dataset/export-folder';
import { importFolder, type ImportOptions, type ImportSummary } from './dataset/import-folder';

export interface MlDbOptions extends ConfigOverrides {
  /** A fully resolved configuration; when given, the other options are ignored. */
  config?: MldbConfig;
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
  #db?: Promise<Db>;

  constructor(options: MlDbOptions = {}) {
    this.config = options.config ?? resolveConfig(options);
  }

  /** The underlying pool; opened (and the database created) on first use. */
  connection(): Promise<Db> {
    if (!this.#db) {
      this.#db = openDb(this.config);
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

  /** Counts per label × split, shape and sizes of one dataset. */
  async describe(name = this.config.table): Promise<DatasetDetails> {
    return describeDataset(await this.connection(), name);
  }

  /** Rows without their BLOBs (the original's AcquireData), by keyset paging. */
  async rows(name = this.config.table, filter: RowFilter = {}): Promise<RowSummary[]> {
    return listRows(await this.connection(), name, filter);
  }

  /** Alias of `rows`, under the original's name. */
  acquireData(name = this.config.table, filter: RowFilter = {}): Promise<RowSummary[]> {
    return this.rows(name, filter);
  }

  /** Imports DIR/<label>/<images> (the original's InsertData2Table): idempotent and resumable. */
  async insertFolder(dir: string, options: Partial<ImportOptions> = {}): Promise<ImportSummary> {
    return importFolder(await this.connection(), dir, { ...options, table: options.table ?? this.config.table });
  }

  /** Writes DIR/<label>/<file> with the original bytes of every (filtered) row. */
  async exportTable(dir: string, options: Omit<RowFilter, 'afterId' | 'limit'> & { table?: string } = {}): Promise<ExportSummary> {
    const { table = this.config.table, ...filter } = options;
    return exportFolder(await this.connection(), table, dir, filter);
  }

  /** Closes the pool. The object can be used again afterwards; it reconnects on demand. */
  async close(): Promise<void> {
    const pending = this.#db;
    this.#db = undefined;
    if (pending) await (await pending.catch(() => undefined))?.close();
  }
}
