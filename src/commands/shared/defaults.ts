/**
 * Defaults of the command-level flags that are not training options (those are
 * ml/training-options.ts's TRAINING_DEFAULTS). The CLI leaves these flags undefined and only
 * shows the defaults in --help; the commands apply them. A module with no imports, so that
 * `mldb --help` loads nothing else.
 */
export const COMMAND_DEFAULTS = {
  /** import: images larger than this many megapixels are refused from their header. */
  maxMegapixels: 100,
  /** import --watch, predict --watch: how long a file must sit unchanged. */
  settle: '500ms',
} as const;
