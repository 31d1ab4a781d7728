/**
 * Every failure a user can cause or fix is an MldbError with an exit code. The CLI turns these
 * into one line on stderr (a stack trace only with --verbose); anything else is a bug (exit 1).
 */

/** Exit codes: stable, documented in the README, relied on by CI scripts. */
export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  DATABASE: 3,
  NOT_FOUND: 4,
  INVALID_DATA: 5,
  REJECTED_FILES: 6,
  BELOW_THRESHOLD: 7,
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class MldbError extends Error {
  readonly exitCode: ExitCode;
  /** What to do about it: appended to the one-line message. */
  readonly hint?: string;

  constructor(message: string, exitCode: ExitCode, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = hint;
  }

  /** The single line shown to the user. */
  get line(): string {
    return this.hint ? `${this.message}: ${this.hint}` : this.message;
  }
}

/** A bad flag, argument or name. */
export class UsageError extends MldbError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.USAGE, hint);
  }
}

/** The database cannot be reached, refused us, or failed a statement. */
export class DatabaseError extends MldbError {
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, EXIT.DATABASE, hint, options);
  }
}

/** A table, directory, file or model that does not exist. */
export class NotFoundError extends MldbError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.NOT_FOUND, hint);
  }
}

/** Data that exists but cannot be used as asked: empty table, wrong shape, corrupt model. */
export class InvalidDataError extends MldbError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.INVALID_DATA, hint);
  }
}

/** The work was done, but some inputs were rejected (an import with bad files). */
export class PartialSuccessError extends MldbError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.REJECTED_FILES, hint);
  }
}

/** A run finished but missed a threshold the caller asked for (e.g. --min-accuracy). */
export class ThresholdError extends MldbError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.BELOW_THRESHOLD, hint);
  }
}

/** Ctrl-C or SIGTERM. */
export class InterruptedError extends MldbError {
  constructor(message = 'interrupted', hint?: string) {
    super(message, EXIT.INTERRUPTED, hint);
  }
}

export function isMldbError(e: unknown): e is MldbError {
  return e instanceof MldbError;
}
