/**
 * The value sets of mldb's ENUM columns, with no imports of their own so that the CLI can offer
 * them as choices without loading the database driver.
 */
export const SPLITS = ['train', 'validation', 'test'] as const;
export type Split = (typeof SPLITS)[number];

export const RUN_STATUSES = ['running', 'completed', 'failed', 'interrupted', 'pruned'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A new table's split fractions when none are given: the registry applies them, --help shows them. */
export const DEFAULT_SPLIT_FRACTIONS = { test: 0.1, validation: 0 } as const;
