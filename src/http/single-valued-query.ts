import type { FastifyRequest } from 'fastify';
import { RequestError } from './request-error';

/**
 * A preValidation hook: every query parameter is given once. A repeated one (`?limit=1&limit=2`)
 * arrives as an array, which no route reads and which SQL would expand into a list: it is a 400
 * here, before any route sees it.
 */
export async function singleValuedQuery(request: FastifyRequest): Promise<void> {
  const query = request.query as Record<string, unknown> | undefined;
  for (const [name, value] of Object.entries(query ?? {})) {
    if (Array.isArray(value))
      throw new RequestError(400, 'bad_query', `${name.slice(0, 64)} is given ${value.length} times: give it once`);
  }
}
