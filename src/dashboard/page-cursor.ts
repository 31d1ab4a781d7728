import type { PredictionPosition } from '../db/predictions';
import { RequestError } from '../http/request-error';

/**
 * The prediction log's page cursor: the last row's time and id, which together are unique (a
 * time alone is not). The page treats it as opaque and sends it back as `cursor`; it stays the
 * same string for the same row, so a link to a page keeps working.
 */
const SEPARATOR = '~';
const ID = /^[0-9A-Za-z-]{1,36}$/;

export function predictionCursor(row: { createdAt: string; id: string }): string {
  return `${row.createdAt}${SEPARATOR}${row.id}`;
}

/** The position a cursor names; a 400 for anything this listing did not hand out. */
export function parsePredictionCursor(raw: string): PredictionPosition {
  const at = raw.lastIndexOf(SEPARATOR);
  const createdAt = new Date(raw.slice(0, at));
  const id = raw.slice(at + 1);
  if (at < 1 || Number.isNaN(createdAt.getTime()) || !ID.test(id))
    throw new RequestError(400, 'bad_query', 'cursor must be the `next` of a page of predictions');
  return { createdAt, id };
}
