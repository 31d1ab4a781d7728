import crypto from 'node:crypto';
import os from 'node:os';
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

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const WILDCARDS = new Set(['0.0.0.0', '::', '']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The host names a server listening on `listenHost` answers to: the loopback names, that
 * address, and on a wildcard address every address and the name of this machine.
 */
export function servedHostNames(listenHost: string): Set<string> {
  const names = new Set(LOOPBACK_NAMES);
  if (!WILDCARDS.has(listenHost)) names.add(normalHost(listenHost));
  else {
    names.add(normalHost(os.hostname()));
    for (const addresses of Object.values(os.networkInterfaces()))
      for (const a of addresses ?? []) names.add(normalHost(a.address.split('%')[0]));
  }
  return names;
}

function normalHost(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The host name of a Host header or an origin's authority, without port or IPv6 brackets. */
function hostNameOf(authority: string): string {
  const bracketed = /^\[([^\]]*)\]/.exec(authority);
  return normalHost(bracketed ? bracketed[1] : authority.split(':')[0]);
}

function forbidden(reply: FastifyReply, code: string, message: string) {
  return reply.code(403).send({ error: { code, message } });
}

/**
 * An onRequest hook that keeps browsers of other sites out. Without a token a server answers
 * only requests addressed to a name it listens on: a page that rebinds its own name to
 * 127.0.0.1 (DNS rebinding) reaches the port but names itself in Host. And a write (anything
 * but GET and HEAD) sent by a page of another origin is refused whatever the token, since a
 * form on any site can POST to a loopback port.
 */
export function originGuard(token: string | undefined, hostNames: Set<string>) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const host = request.headers.host ?? '';
    if (!token && !hostNames.has(hostNameOf(host))) {
      return forbidden(
        reply,
        'forbidden_host',
        `this server answers requests addressed to ${[...hostNames].slice(0, 4).join(', ')}; ` +
          'open it by one of those names (start it with a token to serve other names)',
      );
    }
    if (SAFE_METHODS.has(request.method)) return;
    const origin = request.headers.origin;
    const crossSite = request.headers['sec-fetch-site'] === 'cross-site';
    if (crossSite || (origin !== undefined && !sameAuthority(origin, host))) {
      return forbidden(reply, 'cross_origin', 'a page of another site may not write here');
    }
  };
}

function sameAuthority(origin: string, host: string): boolean {
  try {
    return new URL(origin).host === new URL(`http://${host}`).host;
  } catch {
    return false; // "null" (a sandboxed frame or a file) or garbage: not this server's page
  }
}
