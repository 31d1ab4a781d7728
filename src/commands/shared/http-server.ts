import type { Settings, TokenVariable } from '../../config';
import { NotFoundError, UsageError } from '../../errors';
import { FileTooLarge, NotRegularFile, readRegularFile } from '../../read-file';
import type { Output } from '../../ui/output';

/**
 * A token file holds one line: a FIFO would block before signals are handled, and an endless
 * writer would fill memory, so only a regular file this small is read.
 */
const MAX_TOKEN_FILE_BYTES = 64 * 1024;

/** Addresses only this machine reaches: no token needed there. */
export const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * The token of `serve` and `ui`: --token-file (its first line), else --token, else the variable.
 * A --token on the command line is in the process list for every local user to read: it works,
 * with a warning.
 */
export function httpToken(
  out: Output,
  flags: { token?: string; tokenFile?: string },
  variable: TokenVariable,
  /** The variables' values (config.ts readSettings). */
  tokens: Settings['tokens'],
): string | undefined {
  if (flags.tokenFile !== undefined) {
    if (flags.token !== undefined) throw new UsageError('--token and --token-file both name the token', 'keep one');
    let text: string;
    try {
      text = readRegularFile(flags.tokenFile, MAX_TOKEN_FILE_BYTES).toString('utf8');
    } catch (e) {
      const why =
        e instanceof NotRegularFile
          ? 'not a regular file'
          : e instanceof FileTooLarge
            ? `larger than ${MAX_TOKEN_FILE_BYTES} bytes`
            : ((e as NodeJS.ErrnoException).code ?? 'error');
      throw new NotFoundError(
        `cannot read --token-file ${flags.tokenFile} (${why})`,
        'pass a file that holds the token on its first line',
      );
    }
    const first = text.split(/\r?\n/)[0].trim();
    if (!first) throw new UsageError(`--token-file ${flags.tokenFile} is empty`, 'write the token on its first line');
    return first;
  }
  if (flags.token !== undefined)
    out.note(
      'mldb: --token was readable by every user of this machine in the process list until mldb hid it; ' +
        `prefer ${variable} or --token-file`,
    );
  return (flags.token ?? tokens[variable]?.reveal()) || undefined;
}

/** What `listen` failing means for a user of `serve` or `ui`: a usage error naming the flag to change. */
export function listenError(e: unknown, host: string, port: number): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new UsageError(`port ${port} on ${host} is in use`, 'pass another --port (0 picks a free one)');
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new UsageError(`cannot listen on ${host}: no such local address`, 'use --host 127.0.0.1 or 0.0.0.0');
  return e;
}
