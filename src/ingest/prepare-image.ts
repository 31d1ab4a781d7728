import crypto from 'node:crypto';
import type { ImageShape } from '../image-shape';
import type { ImageFormat } from '../images/formats';
import { DecodeError, decodeImage, toShape } from '../images/decode';
import { FileTooLarge, NotRegularFile, readRegularFile } from '../read-file';

/**
 * The two pure steps of an import that cost CPU per file, written once for the thread that runs
 * them, whichever it is (the import's own, or a worker of the pool): read and hash, then decode to
 * the dataset's shape. Failures come back as values, since error classes do not cross threads.
 */

export type ReadOutcome =
  | { bytes: Uint8Array; sha: Uint8Array }
  | { failure: 'too-large'; size: number }
  | { failure: 'not-regular' }
  | { failure: 'unreadable'; code: string }
  | { failure: 'empty' };

/** Reads a file of at most `maxBytes` (or takes bytes already in hand) and hashes it. */
export function readAndHash(source: { path: string; bytes?: Uint8Array }, maxBytes: number): ReadOutcome {
  let bytes: Uint8Array;
  try {
    bytes = source.bytes ?? readRegularFile(source.path, maxBytes);
  } catch (e) {
    if (e instanceof FileTooLarge) return { failure: 'too-large', size: e.size };
    if (e instanceof NotRegularFile) return { failure: 'not-regular' };
    return { failure: 'unreadable', code: (e as NodeJS.ErrnoException).code ?? 'error' };
  }
  if (bytes.length > maxBytes) return { failure: 'too-large', size: bytes.length };
  if (bytes.length === 0) return { failure: 'empty' };
  return { bytes, sha: crypto.createHash('sha256').update(bytes).digest() };
}

export type ShapedOutcome =
  | { format: ImageFormat; width: number; height: number; pixels: Uint8Array }
  | { failure: 'undecodable' | 'unresizable' | 'internal'; message: string };

/** Decodes an image and converts it to the dataset's shape. */
export async function decodeAndShape(bytes: Uint8Array, shape: ImageShape, maxPixels?: number): Promise<ShapedOutcome> {
  let decoded;
  try {
    decoded = await decodeImage(bytes, maxPixels);
  } catch (e) {
    return { failure: e instanceof DecodeError ? 'undecodable' : 'internal', message: (e as Error).message };
  }
  try {
    const pixels = await toShape(decoded, shape);
    return { format: decoded.format, width: decoded.width, height: decoded.height, pixels };
  } catch (e) {
    return { failure: 'unresizable', message: String((e as Error)?.message ?? e).split('\n')[0] };
  }
}
