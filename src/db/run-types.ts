import type { RunStatus } from './enums';

/** What a run is: the shapes the run statements write and read (run-writes.ts, run-queries.ts). */

export interface RunStart {
  name: string | null;
  experiment: string | null;
  planKey: string | null;
  dataset: string;
  architecture: string;
  hyperparameters: Record<string, unknown> & { seed: number };
  mldbVersion: string;
  tfjsVersion: string;
  host: string;
  pid: number;
}

export interface EpochRow {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  seconds: number;
  samplesPerSecond: number;
  /** The learning rate the epoch trained with (reduce-on-plateau lowers it); null in runs before it was kept. */
  learningRate: number | null;
}

export interface TestDetails {
  count: number;
  labels: string[];
  classes: Array<{ label: string; support: number; precision: number; recall: number; f1: number }>;
  macro: { precision: number; recall: number; f1: number };
  confusion: number[][];
  mistakes: Array<{ id: number; label: string; predicted: string; confidence: number }>;
}

export interface RunRecord {
  id: number;
  name: string | null;
  experiment: string | null;
  dataset: string;
  architecture: string;
  status: RunStatus;
  hyperparameters: Record<string, unknown>;
  seed: number;
  backend: string | null;
  versions: { mldb: string; tfjs: string };
  host: string;
  fingerprint: { rows: number; sha256: string } | null;
  /** The largest row id the run read: its rows are those with id ≤ this (null before migration 5). */
  rowsUntil: number | null;
  /** The table version the run read (null: a run from before tables had versions). */
  tableVersion: number | null;
  split: { train: number; validation: number; test: number } | null;
  epochsDone: number;
  final: { loss: number; accuracy: number; valLoss: number | null; valAccuracy: number | null } | null;
  test: { loss: number; accuracy: number } | null;
  modelDir: string | null;
  error: string | null;
  startedAt: string;
  endedAt: string | null;
  seconds: number | null;
}

export interface RunDetails extends RunRecord {
  epochs: EpochRow[];
  testDetails: TestDetails | null;
}
