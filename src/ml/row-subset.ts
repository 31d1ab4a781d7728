import type { RowSubset } from '../db/row-selection';
import { InvalidDataError } from '../errors';
import { canonicalLabel } from '../labels';

/** The rows a run's options choose (--labels, --exclude-labels, --sources): every read of the run takes it. */
export function rowSubsetOf(o: { labels?: string[]; excludeLabels?: string[]; sources?: string }): RowSubset {
  return {
    ...(o.labels && { labels: o.labels.map(canonicalLabel) }),
    ...(o.excludeLabels && { excludeLabels: o.excludeLabels.map(canonicalLabel) }),
    ...(o.sources !== undefined && { sources: o.sources }),
  };
}

/** A label asked for that no row has is a typo, not an empty class: one error naming it. */
export function checkSubsetLabels(table: string, subset: RowSubset, found: readonly string[]): void {
  const missing = subset.labels?.find((l) => !found.includes(l));
  if (missing !== undefined)
    throw new InvalidDataError(
      `labels names "${missing}", but table "${table}" has no rows of it${subset.sources ? ' from those sources' : ''}`,
      `list the table's labels with \`mldb show ${table}\``,
      { field: 'labels' },
    );
}
