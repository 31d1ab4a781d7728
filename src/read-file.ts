import fs from 'node:fs';

/** A file larger than a row can hold: refused by its size, unread. */
export class FileTooLarge extends Error {
  constructor(readonly size: number) {
    super(`${size} bytes`);
  }
}

/** A FIFO, a device or a socket where a file was expected: refused without reading from it. */
export class NotRegularFile extends Error {
  constructor() {
    super('not a regular file');
  }
}

/**
 * The bytes of a regular file of at most `max` bytes, for everything that reads files a user
 * names (a folder, a manifest, the watch, a model folder's weights). Opened non-blocking and
 * checked on the open descriptor, so a FIFO cannot hang the read, `/dev/zero` is not read for
 * ever, and a file swapped between a directory listing and this read is judged as what was opened.
 */
export function readRegularFile(file: string, max: number): Buffer {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFile();
    if (st.size > max) throw new FileTooLarge(st.size);
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
