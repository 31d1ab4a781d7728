import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { imageSize } from 'image-size';
import sharp from 'sharp';
import { PAD_FILL, SHARP_FIT, type ImageShape } from '../image-shape';
import { jpegComponents, sniffFormat, SUPPORTED_FORMATS, type ImageFormat } from './formats';

/**
 * Decoding and resizing, shared by import and predict so that a model sees exactly the pixels it
 * was trained on. Tiny images are this tool's common case and sharp costs ~0.4 ms per call
 * whatever the size, so PNG and JPEG go through pure-JS decoders (10× faster on 20×20 files);
 * other formats, and any resize, go through sharp.
 */

/** Thrown for a file that is not a decodable image; the message is the reason shown to users. */
export class DecodeError extends Error {}

/** A decoded image in 8-bit RGB, plus whether its source was grayscale. */
export interface DecodedImage {
  format: ImageFormat;
  width: number;
  height: number;
  /** Channels of the source: 1 for grayscale sources, else 3 (alpha is dropped). */
  sourceChannels: 1 | 3;
  /** Interleaved RGB, width × height × 3. */
  rgb: Uint8Array;
}

/** Default cap on width × height, checked from the header before any pixel is decoded. */
export const MAX_PIXELS = 100_000_000;

/** Thrown for an image whose header declares more pixels than allowed (a decompression bomb). */
export class TooManyPixelsError extends DecodeError {}

/**
 * Width and height from the file's header alone (no decoding), or undefined when the header
 * cannot be read here (the decoder then judges the file, with its own limit).
 */
export function headerDimensions(bytes: Uint8Array): { width: number; height: number } | undefined {
  try {
    const { width, height } = imageSize(bytes);
    return width && height ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

/** Refuses an image whose header declares more than `maxPixels`, before decoding it. */
export function checkPixelCount(bytes: Uint8Array, maxPixels: number): void {
  const dims = headerDimensions(bytes);
  if (dims && dims.width * dims.height > maxPixels) throw tooManyPixels(dims.width, dims.height, maxPixels);
}

function tooManyPixels(width: number, height: number, maxPixels: number): TooManyPixelsError {
  return new TooManyPixelsError(
    `${width}×${height} pixels is more than the ${(maxPixels / 1e6).toLocaleString('en-US')} megapixels allowed ` +
      '(--max-megapixels)',
  );
}

export async function decodeImage(bytes: Uint8Array, maxPixels = MAX_PIXELS): Promise<DecodedImage> {
  if (bytes.length === 0) throw new DecodeError('empty file');
  const format = sniffFormat(bytes);
  if (!format) throw new DecodeError(`not a supported image (expected ${SUPPORTED_FORMATS.join(', ')})`);
  checkPixelCount(bytes, maxPixels);
  try {
    if (format === 'png') return decodePng(bytes, maxPixels);
    if (format === 'jpeg') return decodeJpeg(bytes, maxPixels);
    return await decodeWithSharp(bytes, format, maxPixels);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(`corrupt ${format.toUpperCase()}: ${firstLine(e)}`);
  }
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

function decodePng(bytes: Uint8Array, maxPixels: number): DecodedImage {
  // pngjs has no pixel limit of its own: its header is the one image-size read above, checked here
  // again in case that read failed.
  const width = bytes.length >= 24 ? Buffer.from(bytes.buffer, bytes.byteOffset + 16, 8).readUInt32BE(0) : 0;
  const height = bytes.length >= 24 ? Buffer.from(bytes.buffer, bytes.byteOffset + 20, 4).readUInt32BE(0) : 0;
  if (width * height > maxPixels) throw tooManyPixels(width, height, maxPixels);
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const gray = png.colorType === 0 || png.colorType === 4;
  return {
    format: 'png',
    width: png.width,
    height: png.height,
    sourceChannels: gray ? 1 : 3,
    rgb: dropAlpha(png.data, png.width * png.height),
  };
}

function decodeJpeg(bytes: Uint8Array, maxPixels: number): DecodedImage {
  const img = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: false,
    tolerantDecoding: false,
    maxResolutionInMP: maxPixels / 1e6,
    maxMemoryUsageInMB: 1024,
  });
  if (img.data.length !== img.width * img.height * 3) throw new DecodeError('corrupt JPEG: unexpected pixel data');
  return {
    format: 'jpeg',
    width: img.width,
    height: img.height,
    sourceChannels: jpegComponents(bytes) === 1 ? 1 : 3,
    rgb: img.data,
  };
}

async function decodeWithSharp(bytes: Uint8Array, format: ImageFormat, maxPixels: number): Promise<DecodedImage> {
  const img = sharp(bytes, { failOn: 'warning', limitInputPixels: Math.max(1, Math.floor(maxPixels)), pages: 1 });
  const meta = await img.metadata();
  const { data, info } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const isGray = (meta.channels ?? 3) <= 2;
  const rgb =
    info.channels === 3
      ? new Uint8Array(data)
      : expandToRgb(new Uint8Array(data), info.channels, info.width * info.height);
  return { format, width: info.width, height: info.height, sourceChannels: isGray ? 1 : 3, rgb };
}

function dropAlpha(rgba: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let i = 0, j = 0; i < pixels; i++, j += 3) {
    const k = i * 4;
    out[j] = rgba[k];
    out[j + 1] = rgba[k + 1];
    out[j + 2] = rgba[k + 2];
  }
  return out;
}

function expandToRgb(src: Uint8Array, channels: number, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const v = src[i * channels];
    out[i * 3] = channels >= 3 ? src[i * channels] : v;
    out[i * 3 + 1] = channels >= 3 ? src[i * channels + 1] : v;
    out[i * 3 + 2] = channels >= 3 ? src[i * channels + 2] : v;
  }
  return out;
}

/** ITU-R BT.601 luma, as PIL's convert('L'), rounded. */
export function rgbToGray(rgb: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels);
  for (let i = 0, j = 0; i < pixels; i++, j += 3) {
    out[i] = (rgb[j] * 299 + rgb[j + 1] * 587 + rgb[j + 2] * 114 + 500) / 1000;
  }
  return out;
}

/** Whether an RGB image is gray in fact (R = G = B at every pixel), as many tools save grayscale. */
export function isGrayRgb(rgb: Uint8Array): boolean {
  for (let j = 0; j < rgb.length; j += 3) {
    if (rgb[j] !== rgb[j + 1] || rgb[j] !== rgb[j + 2]) return false;
  }
  return true;
}

/** The shape a dataset takes from its first image: its size, and gray or colour. */
export function shapeOf(img: DecodedImage): ImageShape {
  return { height: img.height, width: img.width, channels: img.sourceChannels };
}

/**
 * Converts a decoded image to the dataset's shape: uint8, H×W×C, channels first made explicit, then
 * resized by the shape's mode (image-shape.ts: stretched, centre-cropped or padded with black).
 */
export async function toShape(img: DecodedImage, shape: ImageShape): Promise<Uint8Array> {
  const pixels = img.width * img.height;
  const converted = shape.channels === 1 ? rgbToGray(img.rgb, pixels) : img.rgb;
  if (img.width === shape.width && img.height === shape.height) return converted;
  let pipeline = sharp(converted, { raw: { width: img.width, height: img.height, channels: shape.channels } }).resize(
    shape.width,
    shape.height,
    {
      fit: SHARP_FIT[shape.resize ?? 'stretch'],
      position: 'centre',
      background: { r: PAD_FILL, g: PAD_FILL, b: PAD_FILL, alpha: 1 },
    },
  );
  // sharp would otherwise hand back 3 channels for a 1-channel input.
  if (shape.channels === 1) pipeline = pipeline.toColourspace('b-w');
  const resized = await pipeline.raw().toBuffer();
  return new Uint8Array(resized.buffer, resized.byteOffset, resized.byteLength);
}

/** Decode + convert in one step: what import and predict both call. */
export async function decodeToShape(bytes: Uint8Array, shape: ImageShape, maxPixels = MAX_PIXELS): Promise<Uint8Array> {
  return toShape(await decodeImage(bytes, maxPixels), shape);
}
