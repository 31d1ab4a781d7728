import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { MAX_NAME_LENGTH } from '../db/schema';
import { printable } from '../printable';
import { errorAnswer, type ErrorAnswer } from './http-errors';
import { singleValuedQuery } from './single-valued-query';

/**
 * The longest path segment routed, as the router measures it (decoded, in UTF-16 code units): a
 * name of MAX_NAME_LENGTH characters, each of which may take two units (😀). Fastify's default,
 * 100, made a valid experiment name a 414.
 */
export const MAX_PARAM_LENGTH = MAX_NAME_LENGTH * 2;

export interface HttpAppOptions {
  bodyLimit: number;
  /** Where an internal error's text goes (the client is told only that there was one): stderr. */
  onInternalError?: (line: string) => void;
}

function send(reply: FastifyReply, a: ErrorAnswer): FastifyReply {
  // Every 503 is something that passes (the database away, the decoder busy): say when to retry.
  if (a.status === 503) reply.header('Retry-After', '5');
  return reply.code(a.status).send({ error: { code: a.code, message: a.message } });
}

/**
 * The fastify instance under the service and the dashboard: small bodies, no proxy trust, and
 * every refusal in one JSON shape `{ error: { code, message } }` with a 4xx for what the client
 * sent — the router's own (a path too long, a malformed escape), a repeated query parameter —
 * and a 500 that never carries an internal error's text.
 */
export function createHttpApp(o: HttpAppOptions): FastifyInstance {
  const internal = o.onInternalError ?? ((line: string) => process.stderr.write(`${line}\n`));
  const app = Fastify({
    bodyLimit: o.bodyLimit,
    logger: false,
    trustProxy: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (err, _request, reply) => send(reply, errorAnswer(err, o.bodyLimit)),
  });
  app.setErrorHandler((err, request, reply) => {
    const answer = errorAnswer(err, o.bodyLimit);
    if (answer.code === 'internal')
      internal(
        `mldb: internal error answering ${request.method} ${printable(request.url.split('?')[0])}: ` +
          printable(err instanceof Error ? err.message : String(err)),
      );
    return send(reply, answer);
  });
  app.addHook('preValidation', singleValuedQuery);
  return app;
}
