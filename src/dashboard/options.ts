import type { Db } from '../db/db';

/** One row a model's confident learning flags (ml/suspects' Suspect, which this layer does not import). */
export interface SuspectRow {
  id: number;
  label: string;
  suggested: string;
  confidence: number;
  labelProbability: number;
  margin: number;
  split: string;
  source: string;
  trained: boolean | null;
}

/** What the suspects view shows: the rows scored, how many were flagged, the first `limit`. */
export interface SuspectsAnswer {
  engine: string;
  count: number;
  skipped: number;
  found: number;
  suspects: SuspectRow[];
}

/**
 * Runs a model over a table (`MlDb.suspects`, the code behind `mldb suspects`). The dashboard
 * reads the database only, so the server that mounts it hands this in; without it the view is off.
 */
export type FindSuspects = (table: string, model: string, limit: number) => Promise<SuspectsAnswer>;

export interface DashboardOptions {
  connect: () => Promise<Db>;
  /** With a token the dashboard may also write (correct a prediction, edit rows); reads need it too. */
  token?: string;
  suspects?: FindSuspects;
}

/** The dashboard reads: runs orphaned by a killed process are shown settled, never written so. */
export const READ_ONLY = { write: false } as const;
