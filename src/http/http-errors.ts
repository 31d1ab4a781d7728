import { isTransientDbError } from '../db/transient';
import { EXIT, MldbError } from '../errors';
import { RequestError } from './request-error';

/** What a client is told: a status and the body `{ error: { code, message } }`. */
export interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
}

/**
 * Database errors whose message mldb wrote itself (a host, a shard's or a user's name, a missing
 * grant), never the server's text: a client may read these. Any other database error may quote
 * the statement (a parse error does), so the client is told only that it was internal.
 * The first kind passes (503, retry); the second needs someone to act (a grant, an upgrade).
 */
const AWAY_IN_OWN_WORDS = new Set(['server-unreachable', 'server-lost', 'server-timeout', 'shard-unreachable']);
const REFUSED_IN_OWN_WORDS = new Set([
  'privilege-missing',
  'access-denied',
  'database-denied',
  'database-missing',
  'schema-locked',
  'schema-newer',
  'schema-upgrade-denied',
]);

const INTERNAL: ErrorAnswer = { status: 500, code: 'internal', message: 'internal error: the server logged it' };
const AWAY: ErrorAnswer = {
  status: 503,
  code: 'database_unavailable',
  message: 'the database did not answer: try again later',
};

function databaseAnswer(err: MldbError): ErrorAnswer {
  const reason = err.reason ?? '';
  const transient = isTransientDbError(err);
  // A shard's failure is in mldb's words when the shard was away (a refused or timed-out connection).
  if (AWAY_IN_OWN_WORDS.has(reason) || (transient && reason === 'shard-failed'))
    return { status: 503, code: 'database_unavailable', message: `the database: ${err.message}` };
  if (transient) return AWAY;
  if (REFUSED_IN_OWN_WORDS.has(reason)) return { status: 500, code: 'database_error', message: err.line };
  return INTERNAL;
}

/** Fastify's own refusals (a malformed body, a bad content type): their messages are its own. */
function frameworkAnswer(err: Error & { statusCode?: number }, bodyLimit: number): ErrorAnswer | undefined {
  const status = err.statusCode;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  if (status === 413)
    return { status, code: 'body_too_large', message: `the request is larger than ${bodyLimit} bytes` };
  if (status === 414) return { status, code: 'uri_too_long', message: 'a part of the path is longer than any name' };
  if (status === 415) return { status, code: 'unsupported_media_type', message: err.message };
  return { status, code: 'bad_request', message: err.message };
}

/**
 * The one mapping from an error to what the service and the dashboard answer: a request error as
 * it was made, a user's error by its exit code, the database away as 503, and anything else 500
 * `internal` without its text (which may hold SQL).
 */
export function errorAnswer(e: unknown, bodyLimit: number): ErrorAnswer {
  if (e instanceof RequestError) return { status: e.status, code: e.code, message: e.message };
  if (e instanceof MldbError) {
    if (e.exitCode === EXIT.USAGE) return { status: 400, code: 'bad_query', message: e.message };
    if (e.exitCode === EXIT.NOT_FOUND) return { status: 404, code: 'not_found', message: e.message };
    if (e.exitCode === EXIT.INVALID_DATA) return { status: 422, code: 'invalid_data', message: e.message };
    if (e.exitCode === EXIT.DATABASE) return databaseAnswer(e);
    return INTERNAL;
  }
  if (isTransientDbError(e)) return AWAY;
  return (e instanceof Error && frameworkAnswer(e, bodyLimit)) || INTERNAL;
}
