import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestError } from '../http/request-error';

/**
 * A route's query string (and path parameters) as typed values: each reader refuses a bad value
 * with a 400 that names the parameter, and treats an empty one as absent.
 */
export type Query = Record<string, string | undefined>;

const MAX_PAGE = 500;

export function int(q: Query, key: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = q[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new RequestError(400, 'bad_query', `${key} must be a whole number from 0 to ${max}, got "${raw}"`);
  return n;
}

/** `limit`: rows per page, 1 to MAX_PAGE. */
export function pageSize(q: Query, fallback: number): number {
  const n = int(q, 'limit', fallback, MAX_PAGE);
  if (n < 1) throw new RequestError(400, 'bad_query', `limit must be from 1 to ${MAX_PAGE}, got "${q.limit}"`);
  return n;
}

export function oneOf<T extends string>(q: Query, key: string, allowed: readonly T[]): T | undefined {
  const raw = q[key];
  if (raw === undefined || raw === '') return undefined;
  if (!(allowed as readonly string[]).includes(raw))
    throw new RequestError(400, 'bad_query', `${key} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

export function time(q: Query, key: string): Date | undefined {
  const raw = q[key];
  if (raw === undefined || raw === '') return undefined;
  const d = new Date(raw);
  if (Number.isNaN(d.getTime()))
    throw new RequestError(400, 'bad_query', `${key} must be a date or time, got "${raw}"`);
  return d;
}

export function text(q: Query, key: string): string | undefined {
  const raw = q[key];
  return raw === undefined || raw === '' ? undefined : raw;
}

/**
 * A page from `limit + 1` rows asked for: the first `limit`, and where the next page starts (the
 * last row's cursor) only when the extra row shows there is one.
 */
export function onePage<T, C>(rows: T[], limit: number, cursor: (row: T) => C): { items: T[]; next: C | null } {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? cursor(items[items.length - 1]) : null };
}

/** 304 when the client holds this version already. */
export function notModified(request: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  reply.header('ETag', etag).header('Cache-Control', 'private, no-cache');
  if (request.headers['if-none-match'] === etag) {
    reply.code(304).send();
    return true;
  }
  return false;
}
