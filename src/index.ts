/** mldb as a library: `import { MlDb } from 'mldb'`. */
export { MlDb, type MlDbOptions } from './mldb';
export { resolveConfig, type MldbConfig, type ConfigOverrides } from './config';
export { EXIT, MldbError, UsageError, DatabaseError, NotFoundError, InvalidDataError } from './errors';
export type { Dataset, DatasetDetails, DatasetSummary, ImageShape, RowFilter, RowSummary } from './db/datasets';
export type { ImportOptions, ImportProgress, ImportSummary } from './dataset/import-folder';
export type { ExportSummary } from './dataset/export-folder';
export type { Rejection } from './dataset/walk';
export type { Split } from './db/schema';
