import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import yauzl from 'yauzl';
import { InvalidDataError, NotFoundError, UsageError } from '../errors';
import type { ImportItem, ItemSource } from './import-pipeline';
import { placeByPath, resolveLayout, splitOfFolder, type Layout } from './layout';
import type { Rejection } from './walk-labeled-folder';

/**
 * Archives imported as streams, never unpacked to disk: tar (tar-stream, optionally through
 * zlib's gunzip) and zip (yauzl, which reads the central directory and then one entry at a
 * time). Entry names are checked here because they come from whoever made the archive.
 */

export type ArchiveFormat = 'tar' | 'tar.gz' | 'zip';

/** Largest entry read into memory; larger ones are rejected without being read. */
export const MAX_ENTRY_BYTES = 64 * 1024 * 1024;

/**
 * Files of a single top folder (`filedata/0/a.png`) are read as if that folder were the root.
 * Entries are held while that is undecided (one top folder so far, not a split name, every file
 * two or more levels down), up to this many bytes; past it the top folder counts as a wrapper.
 * The layout is then read from the top folders seen so far (split names → split layout).
 */
const WRAPPER_LOOKAHEAD_BYTES = 256 * 1024 * 1024;

/** Zip archives up to this size are read into memory (see zipEntries). */
const ZIP_IN_MEMORY_BYTES = 512 * 1024 * 1024;

interface RawEntry {
  name: string;
  bytes?: Buffer;
  /** Why the entry cannot be used (its bytes were not read). */
  problem?: string;
}

/** The archive format from its first bytes, or undefined when it is not one mldb reads. */
export function sniffArchive(head: Buffer): ArchiveFormat | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  if (head.length >= 4 && head.toString('latin1', 0, 2) === 'PK' && [3, 5].includes(head[2])) return 'zip';
  if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar') return 'tar';
  return undefined;
}

/** The format of an archive file, read from its first bytes; undefined when it is not an archive. */
export function archiveFormatOf(file: string): ArchiveFormat | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`cannot read ${file} (${code})`, 'check the path and its permissions');
  }
  try {
    const head = Buffer.alloc(512);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return sniffArchive(head.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
}

export interface ArchiveOptions {
  layout?: Layout;
  maxEntryBytes?: number;
}

/** An archive file as an import source. */
export async function openArchiveFile(
  file: string,
  format: ArchiveFormat,
  opts: ArchiveOptions = {},
): Promise<ItemSource> {
  const display = path.basename(file);
  const max = opts.maxEntryBytes ?? MAX_ENTRY_BYTES;
  const raw =
    format === 'zip' ? zipEntries(file, max) : tarEntries(fs.createReadStream(file), format === 'tar.gz', max, display);
  return placedSource(raw, display, opts.layout ?? 'auto');
}

/**
 * A tar (or tar.gz) stream, e.g. standard input: `tar -C data -c . | mldb import -`. The first
 * bytes say whether it is gzipped; a zip cannot be read from a pipe (its index is at the end).
 */
export async function openArchiveStream(input: Readable, opts: ArchiveOptions = {}): Promise<ItemSource> {
  const { head, stream } = await peek(input, 512);
  const format = sniffArchive(head);
  if (format === 'zip')
    throw new UsageError('a zip archive cannot be read from standard input', 'pass the zip file by name instead');
  if (format === undefined) {
    throw new InvalidDataError(
      head.length === 0 ? 'standard input is empty' : 'standard input is not a tar or tar.gz stream',
      'pipe a tar archive, e.g. tar -C DIR -c . | mldb import - --table T',
    );
  }
  const max = opts.maxEntryBytes ?? MAX_ENTRY_BYTES;
  return placedSource(tarEntries(stream, format === 'tar.gz', max, 'stdin'), 'stdin', opts.layout ?? 'auto');
}

/** Reads at least `n` bytes (or to the end) and gives back a stream that still starts at byte 0. */
async function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let length = 0;
  const iterator = input[Symbol.asyncIterator]();
  while (length < n) {
    const next = await iterator.next();
    if (next.done) break;
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as string);
    chunks.push(chunk);
    length += chunk.length;
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield* chunks;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value as Buffer;
    }
  }
  return { head: Buffer.concat(chunks), stream: Readable.from(replay()) };
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function tooLarge(max: number): string {
  return `larger than the ${Math.round(max / 1024 / 1024)} MiB allowed per file`;
}

async function* tarEntries(input: Readable, gzipped: boolean, max: number, display: string): AsyncGenerator<RawEntry> {
  const extract = tar.extract();
  const piping = gzipped ? pipeline(input, zlib.createGunzip(), extract) : pipeline(input, extract);
  // A broken stream rejects here and also ends the iteration below with the same error.
  piping.catch(() => undefined);
  try {
    for await (const entry of extract) {
      const { name, type, size } = entry.header;
      if (type === 'directory') {
        entry.resume();
        continue;
      }
      if (type !== 'file' && type !== 'contiguous-file') {
        entry.resume();
        yield { name, problem: `not a regular file (${type ?? 'unknown'} entry)` };
      } else if ((size ?? 0) > max) {
        entry.resume();
        yield { name, problem: tooLarge(max) };
      } else {
        yield { name, bytes: await readAll(entry) };
      }
    }
    await piping;
  } catch (e) {
    throw new InvalidDataError(
      `${display} is not a readable tar archive (${(e as Error).message})`,
      'check that the file is complete and is a tar, tar.gz or zip archive',
      { cause: e },
    );
  }
}

async function* zipEntries(file: string, max: number): AsyncGenerator<RawEntry> {
  let zip: yauzl.ZipFile;
  try {
    // yauzl reads the index and each entry's header with its own small read; from memory that is
    // 10× faster than from the file, so archives that fit comfortably are read whole first.
    const options = { lazyEntries: true, decodeStrings: false };
    zip =
      fs.statSync(file).size <= ZIP_IN_MEMORY_BYTES
        ? await yauzl.fromBufferPromise(fs.readFileSync(file), options)
        : await yauzl.openPromise(file, { ...options, autoClose: true });
  } catch (e) {
    throw new InvalidDataError(
      `${path.basename(file)} is not a readable zip archive (${(e as Error).message})`,
      'check that the file is complete',
      { cause: e },
    );
  }
  try {
    for (;;) {
      let entry: yauzl.Entry | undefined;
      try {
        entry = await nextZipEntry(zip);
      } catch (e) {
        // The central directory lies (a bad signature, an entry past the end): the archive, not
        // this program, is at fault. What came before the damage is stored, each row whole.
        throw new InvalidDataError(
          `${path.basename(file)} is a damaged zip archive (${(e as Error).message})`,
          'the entries before the damage were imported; re-create the archive and import it again',
          { cause: e },
        );
      }
      if (!entry) return;
      // Names are decoded here, not by yauzl, so that a hostile name rejects its entry instead of
      // failing the whole archive.
      const name = yauzl.getFileNameLowLevel(
        entry.generalPurposeBitFlag,
        entry.fileName as unknown as Buffer,
        entry.extraFields,
        false,
      );
      if (name.endsWith('/')) continue;
      if (entry.isEncrypted()) yield { name, problem: 'encrypted entry' };
      else if (entry.uncompressedSize > max) yield { name, problem: tooLarge(max) };
      else {
        try {
          yield { name, bytes: await readZipEntry(zip, entry) };
        } catch (e) {
          yield { name, problem: `damaged entry (${(e as Error).message})` };
        }
      }
    }
  } finally {
    zip.close();
  }
}

/**
 * An entry's bytes. Deflated entries are read raw and inflated in one synchronous call: a zlib
 * stream per entry costs more than the inflate itself for small images (5× slower overall).
 */
async function readZipEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  if (entry.compressionMethod !== 8) return readAll(await zip.openReadStreamPromise(entry));
  const raw = await readAll(await zip.openReadStreamPromise(entry, { decompress: false }));
  const bytes = zlib.inflateRawSync(raw, { maxOutputLength: entry.uncompressedSize + 1 });
  if (bytes.length !== entry.uncompressedSize)
    throw new Error(`expected ${entry.uncompressedSize} bytes, got ${bytes.length}`);
  return bytes;
}

function nextZipEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (e: yauzl.Entry) => (cleanup(), resolve(e));
    const onEnd = () => (cleanup(), resolve(undefined));
    const onError = (e: Error) => (cleanup(), reject(e));
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

/**
 * An entry name as path parts, or why it is refused. Absolute names and `..` could write outside
 * a folder when unpacked; mldb never unpacks, but such an archive is hostile or broken either way.
 */
export function entryParts(name: string): string[] | string {
  const unified = name.replace(/\\/g, '/');
  if (unified.startsWith('/') || /^[A-Za-z]:/.test(unified)) return 'absolute path in the archive';
  const parts = unified.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return 'path leaves the archive (..)';
  if (parts.length === 0) return 'empty name';
  return parts;
}

/** Hidden files and macOS metadata, skipped like the folder walk skips them. */
function isHidden(parts: readonly string[]): boolean {
  return parts.some((p) => p.startsWith('.') || p === '__MACOSX');
}

function placedSource(raw: AsyncIterable<RawEntry>, display: string, layout: Layout): ItemSource {
  const rejected: Rejection[] = [];
  return { items: placed(raw, display, layout, rejected), rejected };
}

async function* placed(
  raw: AsyncIterable<RawEntry>,
  display: string,
  layout: Layout,
  rejected: Rejection[],
): AsyncGenerator<ImportItem> {
  const held: { parts: string[]; bytes: Buffer; name: string }[] = [];
  let heldBytes = 0;
  let decided: { strip: number; layout: 'labels' | 'splits' } | undefined;
  const tops = new Set<string>();

  const decide = () => {
    // One top folder, not a split, whose files are all two or more levels further down: a wrapper.
    const [only] = tops;
    const wrapper =
      tops.size === 1 && splitOfFolder(only) === undefined && held.every((h) => h.parts.length >= 3) ? 1 : 0;
    const folders = new Set(held.filter((h) => h.parts.length > wrapper + 1).map((h) => h.parts[wrapper]));
    decided = { strip: wrapper, layout: resolveLayout(layout, [...folders]) };
  };

  function* place(h: { parts: string[]; bytes: Buffer; name: string }): Generator<ImportItem> {
    const where = `${display}:${h.name}`;
    const parts = h.parts.slice(decided!.strip);
    const placement = placeByPath(parts, decided!.layout);
    if (typeof placement === 'string') {
      rejected.push({ path: where, reason: placement });
      return;
    }
    yield { path: where, relative: placement.relative, label: placement.label, split: placement.split, bytes: h.bytes };
  }

  for await (const entry of raw) {
    const parts = entryParts(entry.name);
    if (typeof parts === 'string' || entry.problem) {
      rejected.push({ path: `${display}:${entry.name}`, reason: typeof parts === 'string' ? parts : entry.problem! });
      continue;
    }
    if (isHidden(parts)) continue;
    const item = { parts, bytes: entry.bytes!, name: entry.name };
    if (decided) {
      yield* place(item);
      continue;
    }
    held.push(item);
    heldBytes += item.bytes.length;
    tops.add(parts[0]);
    // Held only while the first top folder could still be a wrapper.
    const settled = tops.size > 1 || parts.length < 3 || splitOfFolder(parts[0]) !== undefined;
    if (settled || heldBytes > WRAPPER_LOOKAHEAD_BYTES) {
      decide();
      for (const h of held.splice(0)) yield* place(h);
    }
  }
  if (!decided) {
    decide();
    for (const h of held.splice(0)) yield* place(h);
  }
}

/** A path given to import that is neither a folder nor a readable archive. */
export function notImportable(target: string): never {
  if (!fs.existsSync(target))
    throw new NotFoundError(`no such file or directory: ${target}`, 'pass a folder, an archive or - (stdin)');
  throw new UsageError(
    `${target} is neither a folder nor a tar, tar.gz or zip archive`,
    'pass DIR/<label>/<images>, an archive of that layout, or - to read a tar stream from stdin',
  );
}
