/**
 * Every failure a user can cause or fix is an MldbError with an exit code. The CLI turns these
 * into one line on stderr (a stack trace only with --verbose); anything else is a bug (exit 1).
 */

/** Exit codes: stable, documented in the README and docs/commands.md, relied on by CI scripts. */
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

/**
 * What a caller can act on besides the message. The library names fields as its API spells them
 * (`testFraction`) and says which thing is missing (`reason`); the CLI maps both to its own words
 * (`--test-fraction`, the command to run), so no CLI wording lives below it.
 */
export interface ErrorDetails {
  cause?: unknown;
  /** The option or column at fault, in API spelling (e.g. `learningRate`). */
  field?: string;
  /** A stable tag for what went wrong, e.g. `dataset-missing`, `run-missing`, `server-unreachable`. */
  reason?: string;
  /** The table, run or file the error is about. */
  subject?: string;
}

export class MldbError extends Error {
  readonly exitCode: ExitCode;
  /** What to do about it: appended to the one-line message. */
  readonly hint?: string;
  readonly field?: string;
  readonly reason?: string;
  readonly subject?: string;

  constructor(message: string, exitCode: ExitCode, hint?: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = hint;
    this.field = details.field;
    this.reason = details.reason;
    this.subject = details.subject;
  }

  /** The single line shown to the user. */
  get line(): string {
    return this.hint ? `${this.message}: ${this.hint}` : this.message;
  }
}

/** A bad flag, argument or name. */
export class UsageError extends MldbError {
  constructor(message: string, hint?: string, details?: ErrorDetails) {
    super(message, EXIT.USAGE, hint, details);
  }
}

/** The database cannot be reached, refused us, or failed a statement. */
export class DatabaseError extends MldbError {
  constructor(message: string, hint?: string, details?: ErrorDetails) {
    super(message, EXIT.DATABASE, hint, details);
  }
}

/** A table, directory, file or model that does not exist. */
export class NotFoundError extends MldbError {
  constructor(message: string, hint?: string, details?: ErrorDetails) {
    super(message, EXIT.NOT_FOUND, hint, details);
  }
}

/** Data that exists but cannot be used as asked: empty table, wrong shape, corrupt model. */
export class InvalidDataError extends MldbError {
  constructor(message: string, hint?: string, details?: ErrorDetails) {
    super(message, EXIT.INVALID_DATA, hint, details);
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
