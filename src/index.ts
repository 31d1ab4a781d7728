/** mldb as a library: `import { MlDb } from 'mldb'`. */
export { MlDb, type MlDbOptions } from './mldb';
export { resolveConfig, type MldbConfig, type ConfigOverrides } from './config';
export {
  EXIT,
  MldbError,
  UsageError,
  DatabaseError,
  NotFoundError,
  InvalidDataError,
  InterruptedError,
} from './errors';
export type { Dataset, DatasetDetails, DatasetSummary } from './db/registry';
export type { RowFilter } from './db/row-selection';
export type { RowSummary } from './db/row-listings';
export type { ImageShape } from './image-shape';
export type { ImportOptions, ImportProgress, ImportSummary } from './ingest/import-pipeline';
export type { ExportSummary } from './export/export-folder';
export type { Rejection } from './ingest/walk-labeled-folder';
export type { Split } from './db/schema';
export type { DrawnTensors, TrainMethodOptions } from './mldb';
export type { TrainReport } from './ml/training-run';
export type {
  EpochMetrics,
  EpochPhases,
  BatchProgress,
  DataPlan,
  Hyperparameters,
  StopReason,
  TrainingCallback,
  TrainingControl,
  WeightsSnapshot,
} from './ml/train';
export type { EvaluationReport } from './ml/evaluate';
export type { ClassMetrics } from './ml/metrics';
export type { Prediction, PredictionFailure } from './ml/predict';
export type { ModelMetadata } from './ml/artifacts';
export type { RunRecord, RunDetails } from './db/run-types';
export type { RunStatus } from './db/enums';
export type { Edit, EditOptions, EditResult, EditedRow, RowSelector } from './db/row-edits';
export type { TableVersion, VersionKind } from './db/table-versions';
export type { StudyOutcome } from './mldb';
export type { StudySpec, Space, Dimension, Params, TrialState } from './study/types';
export type { Trial } from './study/trial';
export type { Objective, ObjectiveResult, WorkerOptions, WorkerSummary, TrialEvent } from './study/worker';
export type { RankedTrial } from './study/leaderboard';
export { TrialReporting } from './ml/trial-reporting';
