import type { ImageShape } from '../image-shape';
import { decodeImage, DecodeError, toShape, type DecodedImage } from '../images/decode';
import type { ReadFile } from './read-chunks';
import type { Rejection } from './walk-labeled-folder';

/** Why a file is refused, in one wording for every stage of an import that refuses it. */

export function tooLargeForServer(fileBytes: number, packet: number): string {
  return (
    `too large for the server (${mib(fileBytes)} file; max_allowed_packet is ${mib(packet)}): ` +
    'raise max_allowed_packet'
  );
}

export function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A resize that fails (a sharp error on an odd image) rejects that file, not the import. */
export async function resizeOrReject(
  item: ReadFile,
  decoded: DecodedImage,
  shape: ImageShape,
  rejected: Rejection[],
): Promise<Uint8Array | undefined> {
  try {
    return await toShape(decoded, shape);
  } catch (e) {
    rejected.push({ path: item.file.path, reason: resizeFailure(shape, firstLine(e)) });
    return undefined;
  }
}

/** Why an image that decoded is refused when it cannot take the table's shape: one wording for both paths. */
export function resizeFailure(shape: ImageShape, why: string): string {
  return `cannot resize to ${shape.height}x${shape.width}: ${why}`;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

export async function decodeOrReject(
  item: ReadFile,
  rejected: Rejection[],
  maxPixels: number | undefined,
): Promise<DecodedImage | undefined> {
  try {
    return await decodeImage(item.bytes, maxPixels);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    rejected.push({ path: item.file.path, reason: e.message });
    return undefined;
  }
}
