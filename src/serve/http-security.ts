import crypto from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Pages load nothing from elsewhere: scripts, styles, images and requests only from this origin. */
export const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'";

/** Compared as digests: equal lengths, constant time, whatever was sent. */
export function sameSecret(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/**
 * An onRequest hook: with a token, every route but the open ones needs `Authorization: Bearer
 * <token>` (401 otherwise); without one, every route is open.
 */
export function bearerGuard(token: string | undefined, isOpen: (path: string) => boolean) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!token || isOpen(request.url.split('?')[0])) return;
    const header = request.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!given || !sameSecret(given, token)) {
      return reply
        .code(401)
        .header('WWW-Authenticate', 'Bearer')
        .send({ error: { code: 'unauthorized', message: 'send Authorization: Bearer <token>' } });
    }
  };
}
