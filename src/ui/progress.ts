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

/**
 * An ora spinner on a terminal; otherwise sparse plain lines. `quiet` (used by --json) prints
 * nothing at all. ora is ESM-only and only needed on a terminal, so it is imported on demand.
 */
export async function createProgress(initial: string, options: { quiet?: boolean } = {}): Promise<Progress> {
  if (options.quiet) {
    return { update() {}, succeed() {}, fail() {}, clear() {}, log() {} };
  }
  // A spinner only when a person watches both streams: `mldb … | jq` gets plain lines.
  if (isInteractive(process.stderr) && isInteractive(process.stdout)) {
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
  let last = 0;
  let pending = '';
  const write = (text: string) => process.stderr.write(text + '\n');
  return {
    update(text) {
      pending = text;
      const now = Date.now();
      if (now - last >= PLAIN_INTERVAL_MS) {
        if (last !== 0) write(text);
        last = now;
      }
    },
    succeed: (text) => write(text),
    fail: (text) => {
      // The last progress line, if one is pending; never an empty line before the error.
      const line = text ?? pending;
      if (line) write(line);
    },
    clear: () => {},
    log: (text) => write(text),
  };
}
