import '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { RequestError } from '../http/request-error';

/** An uploaded image, before decoding. */
export interface ImageInput {
  /** The file name the client gave, when it gave one. */
  name: string | null;
  bytes: Buffer;
}

export interface InputLimits {
  /** Most images per request. */
  maxFiles: number;
  /** Most bytes per image. */
  maxFileBytes: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A base64 image, optionally as a data: URL (what a browser canvas produces). */
function fromBase64(text: unknown, where: string, maxBytes: number): Buffer {
  if (typeof text !== 'string' || text.length === 0)
    throw new RequestError(400, 'bad_json', `${where} must be a base64 string`);
  const data = text.replace(/^data:[^,]*;base64,/, '').replace(/\s+/g, '');
  if (!BASE64.test(data) || data.length % 4 === 1) throw new RequestError(400, 'bad_base64', `${where} is not base64`);
  if ((data.length * 3) / 4 > maxBytes + 2) throw tooLarge(maxBytes);
  return Buffer.from(data, 'base64');
}

function tooLarge(maxBytes: number): RequestError {
  return new RequestError(413, 'file_too_large', `an image is larger than ${maxBytes} bytes`);
}

function tooMany(max: number): RequestError {
  return new RequestError(413, 'too_many_files', `more than ${max} images in one request`);
}

/**
 * The images of a predict request, in the three forms the API takes: multipart uploads (one or
 * many files), raw image bytes (`Content-Type: image/*` or `application/octet-stream`, name in
 * `X-File-Name`), or JSON `{ "images": [{ "name", "data" }] }` / `{ "image": "<base64>" }`.
 */
/** X-File-Name, percent-decoded; a malformed escape is the client's mistake (400), not the service's. */
function fileNameHeader(header: string): string {
  try {
    return decodeURIComponent(header);
  } catch {
    throw new RequestError(400, 'bad_file_name', 'X-File-Name has a malformed %-escape: percent-encode the name');
  }
}

export async function readImages(request: FastifyRequest, limits: InputLimits): Promise<ImageInput[]> {
  const type = (request.headers['content-type'] ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data')) return readMultipart(request, limits);
  if (type.startsWith('application/json')) return readJson(request.body, limits);
  if (Buffer.isBuffer(request.body)) {
    if (request.body.length === 0) throw new RequestError(400, 'empty_body', 'the request has no image');
    if (request.body.length > limits.maxFileBytes) throw tooLarge(limits.maxFileBytes);
    const header = request.headers['x-file-name'];
    return [{ name: typeof header === 'string' ? fileNameHeader(header) : null, bytes: request.body }];
  }
  throw new RequestError(
    415,
    'unsupported_media_type',
    'send multipart/form-data, application/json with base64 images, or the image bytes (image/*)',
  );
}

async function readMultipart(request: FastifyRequest, limits: InputLimits): Promise<ImageInput[]> {
  const images: ImageInput[] = [];
  try {
    for await (const part of request.files()) {
      if (images.length >= limits.maxFiles) throw tooMany(limits.maxFiles);
      images.push({ name: part.filename || null, bytes: await part.toBuffer() });
    }
  } catch (e) {
    if (e instanceof RequestError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(limits.maxFileBytes);
    if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT') throw tooMany(limits.maxFiles);
    throw new RequestError(400, 'bad_multipart', `cannot read the upload: ${(e as Error).message}`);
  }
  if (images.length === 0) throw new RequestError(400, 'no_files', 'the form has no file');
  return images;
}

function readJson(body: unknown, limits: InputLimits): ImageInput[] {
  const b = body as { images?: unknown; image?: unknown; name?: unknown } | null;
  if (!b || typeof b !== 'object') throw new RequestError(400, 'bad_json', 'the body must be a JSON object');
  if (b.image !== undefined) {
    return [
      { name: typeof b.name === 'string' ? b.name : null, bytes: fromBase64(b.image, 'image', limits.maxFileBytes) },
    ];
  }
  if (!Array.isArray(b.images) || b.images.length === 0)
    throw new RequestError(
      400,
      'bad_json',
      'send {"images": [{"name": …, "data": "<base64>"}]} or {"image": "<base64>"}',
    );
  if (b.images.length > limits.maxFiles) throw tooMany(limits.maxFiles);
  return b.images.map((item: unknown, i: number) => {
    const it = typeof item === 'string' ? { data: item } : (item as { name?: unknown; data?: unknown });
    return {
      name: typeof it?.name === 'string' ? it.name : null,
      bytes: fromBase64(it?.data, `images[${i}].data`, limits.maxFileBytes),
    };
  });
}
