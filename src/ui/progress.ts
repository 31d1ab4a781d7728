import { isInteractive } from './terminal';

/** A progress display on stderr, so that stdout stays clean for results and --json. */
export interface Progress {
  update(text: string): void;
  succeed(text: string): void;
  fail(text?: string): void;
  /** Removes the spinner without a final line (the error that follows says it all). */
  clear(): void;
  /** Prints a line without disturbing the spinner. */
  log(text: string): void;
}

/** Plain mode prints at most one line per interval: sparse enough for CI logs. */
const PLAIN_INTERVAL_MS = 5000;
/** With --json, sparser still: stderr is for people and log readers, stdout for the document. */
const DOCUMENT_INTERVAL_MS = 15_000;

export interface ProgressOptions {
  /** Nothing at all (a command whose --json output is itself a stream of lines). */
  quiet?: boolean;
  /**
   * stdout carries a --json document: progress stays on stderr as plain lines, one per 15 s at
   * most and no final line (the document has it), so that a pipeline's log shows it is alive.
   */
  document?: boolean;
  /** For tests: the clock and where lines go (default: Date.now and stderr). */
  clock?: () => number;
  write?: (line: string) => void;
}

/**
 * An ora spinner on a terminal; otherwise sparse plain lines. ora is ESM-only and only needed on
 * a terminal, so it is imported on demand.
 */
export async function createProgress(initial: string, options: ProgressOptions = {}): Promise<Progress> {
  if (options.quiet) {
    return { update() {}, succeed() {}, fail() {}, clear() {}, log() {} };
  }
  // A spinner only when a person watches both streams: `mldb … | jq` gets plain lines.
  if (!options.document && !options.write && isInteractive(process.stderr) && isInteractive(process.stdout)) {
    const { default: ora } = await import('ora');
    const spinner = ora({ text: initial, stream: process.stderr }).start();
    return {
      update: (text) => void (spinner.text = text),
      succeed: (text) => void spinner.succeed(text),
      fail: (text) => void spinner.fail(text),
      clear: () => void spinner.stop(),
      log: (text) => {
        spinner.clear();
        process.stderr.write(text + '\n');
        spinner.render();
      },
    };
  }
  const clock = options.clock ?? Date.now;
  const write = options.write ?? ((text: string) => void process.stderr.write(text + '\n'));
  const interval = options.document ? DOCUMENT_INTERVAL_MS : PLAIN_INTERVAL_MS;
  let last = 0;
  let pending = '';
  return {
    update(text) {
      pending = text;
      const now = clock();
      if (now - last >= interval) {
        if (last !== 0) write(text);
        last = now;
      }
    },
    succeed: (text) => {
      if (!options.document) write(text);
    },
    fail: (text) => {
      // The last progress line, if one is pending; never an empty line before the error.
      const line = text ?? pending;
      if (line) write(line);
    },
    clear: () => {},
    log: (text) => write(text),
  };
}
