import fs from 'node:fs';
import path from 'node:path';
import { MldbError, NotFoundError, UsageError } from './errors';

/**
 * Where mldb writes (a model's --save folder, an export, a report): checked before the long work
 * that fills it, and the file-system errors that can still happen while writing, said in one line.
 */

/** mldb_runs.model_dir is VARCHAR(1024); a file name part may have 255 bytes (NAME_MAX). */
const MAX_PATH_CHARS = 1024;
const MAX_NAME_BYTES = 255;
/** Kernel pseudo-file-systems: nothing is saved there, and Node's recursive mkdir loops on /proc. */
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'];

/**
 * A folder that will be created and written after long work: checked before that work starts.
 * Its path must fit the run record and the file system, must not be on a pseudo-file-system,
 * and the nearest folder that exists must be a folder this process can write to (access(2) also
 * says EROFS for a read-only mount).
 */
export function checkWritableFolderPath(flag: string, given: string, target: string): void {
  if ([...target].length > MAX_PATH_CHARS)
    throw new UsageError(`${flag} path is longer than ${MAX_PATH_CHARS} characters`, 'choose a shorter path');
  const long = target.split(path.sep).find((part) => Buffer.byteLength(part) > MAX_NAME_BYTES);
  if (long !== undefined)
    throw new UsageError(`${flag} has a name longer than ${MAX_NAME_BYTES} bytes`, 'choose shorter folder names');
  if (PSEUDO_ROOTS.some((r) => target === r || target.startsWith(r + path.sep)))
    throw new UsageError(`${flag} "${given}" is on a kernel pseudo-file-system`, 'choose a folder on a disk');
  // The nearest folder that exists is looked for again when it vanishes between the look and the
  // check: another process replacing a model folder renames it away for a moment.
  for (let attempt = 1; ; attempt++) {
    let existing = target;
    while (!fs.existsSync(existing)) existing = path.dirname(existing);
    try {
      if (!fs.statSync(existing).isDirectory())
        throw new UsageError(`${flag} "${given}": ${existing} is a file, not a folder`, 'choose another path');
      fs.accessSync(existing, fs.constants.W_OK);
      return;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && attempt < 10) continue;
      throw new UsageError(
        `${flag} "${given}": cannot write in ${existing} (${code ?? 'denied'})`,
        'choose a folder you can write to',
      );
    }
  }
}

const WHAT: Record<string, [what: string, hint: string]> = {
  EACCES: ['permission denied', 'choose a path you may write to, or change its permissions'],
  EPERM: ['operation not permitted', 'choose a path you may write to, or change its permissions'],
  EROFS: ['read-only file system', 'choose a folder on a writable disk'],
  ENOSPC: ['no space left on the device', 'free some space or choose another disk'],
  EDQUOT: ['disk quota exceeded', 'free some space or choose another disk'],
  ENOTDIR: ['a part of the path is a file, not a folder', 'choose another path'],
  EISDIR: ['is a folder', 'name a file'],
  EEXIST: ['already exists', 'choose a new name'],
  ENAMETOOLONG: ['name too long', 'choose a shorter path'],
  ELOOP: ['too many levels of symlinks', 'fix the link, or choose another path'],
  EMFILE: ['too many open files', 'raise the open-file limit (ulimit -n)'],
};

/**
 * Node's file-system errors (they carry `code`, `syscall` and `path`) as the user errors they are:
 * "cannot open /x/y: permission denied", exit 2 (4 for a missing file), instead of an internal error.
 * Anything else: undefined.
 */
export function fromFileSystemError(e: unknown): MldbError | undefined {
  const err = e as NodeJS.ErrnoException;
  if (!err || typeof err !== 'object' || typeof err.syscall !== 'string' || typeof err.code !== 'string') return;
  const where = err.path ? ` ${err.path}` : '';
  if (err.code === 'ENOENT')
    return new NotFoundError(`cannot ${verb(err.syscall)}${where}: no such file or folder`, undefined, { cause: e });
  const known = WHAT[err.code];
  if (!known) return;
  return new UsageError(`cannot ${verb(err.syscall)}${where}: ${known[0]} (${err.code})`, known[1], { cause: e });
}

function verb(syscall: string): string {
  if (syscall === 'mkdir') return 'create folder';
  if (syscall === 'open') return 'open';
  if (syscall === 'write') return 'write';
  if (syscall === 'rename') return 'rename';
  if (syscall === 'scandir') return 'list';
  return syscall;
}
