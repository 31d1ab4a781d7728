/**
 * Whether a file's bytes are a whole image by the format's own framing, without decoding it:
 * what lets a watch take a file the moment it is complete instead of waiting for it to sit
 * unchanged for the settle window. No library answers "is this file fully written" short of a
 * full decode (which also succeeds on some truncated files), so the framing is read here.
 * `false` never rejects a file: it only means "wait until it has settled".
 */
export function isCompleteImage(b: Uint8Array): boolean {
  if (isPng(b)) return pngComplete(b);
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return jpegComplete(b);
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return riffComplete(b);
  if (b.length >= 6 && ascii(b, 0, 2) === 'BM') return bmpComplete(b);
  return false;
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}

function u32le(b: Uint8Array, at: number): number {
  return b[at] + (b[at + 1] << 8) + (b[at + 2] << 16) + ((b[at + 3] << 24) >>> 0);
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && PNG_SIGNATURE.every((v, i) => b[i] === v);
}

/** A PNG ends with its IEND chunk: length 0, type IEND, and that chunk's fixed CRC. */
function pngComplete(b: Uint8Array): boolean {
  const IEND = [0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];
  if (b.length < 8 + IEND.length) return false;
  const tail = b.length - IEND.length;
  return IEND.every((v, i) => b[tail + i] === v);
}

/**
 * A JPEG is walked marker by marker up to the scan, so that an end-of-image inside an EXIF
 * thumbnail (a file cut right after it) does not pass; after the scan the file must end with EOI.
 */
function jpegComplete(b: Uint8Array): boolean {
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return false;
    const marker = b[at + 1];
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd9) return at + 2 === b.length;
    if (marker >= 0xd0 && marker <= 0xd7) {
      at += 2;
      continue;
    }
    const length = (b[at + 2] << 8) + b[at + 3];
    if (marker === 0xda) return b.length >= at + 2 + length + 2 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9;
    at += 2 + length;
  }
  return false;
}

/** RIFF (WebP) states its own size after the tag. */
function riffComplete(b: Uint8Array): boolean {
  const size = u32le(b, 4);
  return size + 8 === b.length;
}

/** BMP states the file size in its header. */
function bmpComplete(b: Uint8Array): boolean {
  return u32le(b, 2) === b.length;
}
