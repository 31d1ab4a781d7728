import { escapeId } from './identifiers';
import type { Db } from './db';
import { RUNS_TABLE } from './schema';

/** Experiments are runs grouped by their experiment name: the summaries the dashboard lists. */

export interface ExperimentSummary {
  name: string;
  runs: number;
  completed: number;
  running: number;
  bestTestAccuracy: number | null;
  /** Over runs a study did not prune: a pruned run is never an experiment's best. */
  bestValAccuracy: number | null;
  startedAt: string;
  lastStartedAt: string;
}

export async function countExperiments(db: Db): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `SELECT COUNT(DISTINCT experiment) AS n FROM ${escapeId(RUNS_TABLE)} FORCE INDEX (ix_experiment)`,
  );
  return Number(row.n);
}

/** Experiments (runs grouped by their experiment), the latest first. */
export async function listExperiments(db: Db, limit = 100, offset = 0): Promise<ExperimentSummary[]> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT experiment, COUNT(*) AS runs, SUM(status = 'completed') AS completed, SUM(status = 'running') AS running,
       MAX(test_accuracy) AS best_test, MAX(IF(status = 'pruned', NULL, final_val_accuracy)) AS best_val,
       MIN(started_at) AS first_at,
       MAX(started_at) AS last_at
     FROM ${escapeId(RUNS_TABLE)} FORCE INDEX (ix_experiment) WHERE experiment IS NOT NULL
     GROUP BY experiment ORDER BY MAX(id) DESC LIMIT ? OFFSET ?`,
    [limit, offset],
  );
  return rows.map((r) => ({
    name: r.experiment as string,
    runs: Number(r.runs),
    completed: Number(r.completed),
    running: Number(r.running),
    bestTestAccuracy: r.best_test === null ? null : Number(r.best_test),
    bestValAccuracy: r.best_val === null ? null : Number(r.best_val),
    startedAt: (r.first_at as Date).toISOString(),
    lastStartedAt: (r.last_at as Date).toISOString(),
  }));
}
