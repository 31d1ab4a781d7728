import type { RunRecord } from '../db/run-types';

/**
 * The settings that differ between runs: what a comparison or an experiment's chart is about.
 * A run's settings are its architecture, dataset and hyperparameters (seed included); a setting a
 * run lacks counts as a difference. Values are compared as JSON.
 */
export function differingSettings(
  runs: readonly Pick<RunRecord, 'architecture' | 'dataset' | 'hyperparameters'>[],
): string[] {
  const settings = runs.map((r) => ({ architecture: r.architecture, dataset: r.dataset, ...r.hyperparameters }));
  const keys = [...new Set(settings.flatMap((s) => Object.keys(s)))].sort();
  return keys.filter((k) => new Set(settings.map((s) => JSON.stringify((s as Record<string, unknown>)[k]))).size > 1);
}
