/**
 * All command output goes through here: results on stdout (a table, lines, or one JSON document
 * with --json), notes on stderr.
 */
export interface Output {
  readonly json: boolean;
  readonly verbose: boolean;
  /** A result line on stdout (suppressed with --json). */
  line(text?: string): void;
  /** A note on stderr (kept with --json, which owns stdout). */
  note(text: string): void;
  /** The single JSON document of a --json run. */
  document(data: unknown): void;
}

export function createOutput(opts: { json?: boolean; verbose?: boolean }): Output {
  return {
    json: Boolean(opts.json),
    verbose: Boolean(opts.verbose),
    line(text = '') {
      if (!opts.json) process.stdout.write(text + '\n');
    },
    note(text) {
      process.stderr.write(text + '\n');
    },
    document(data) {
      process.stdout.write(JSON.stringify(data, null, 2) + '\n');
    },
  };
}
