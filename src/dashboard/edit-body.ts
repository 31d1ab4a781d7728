import { MAX_LABEL_LENGTH } from '../labels';
import { RequestError } from '../http/request-error';

/** The most rows one request edits: a page of suspects, well under the body limit. */
export const MAX_EDIT_IDS = 1000;

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * An edit request's body, checked before anything is read: row ids (1 to MAX_EDIT_IDS whole
 * numbers) and, for a relabel, the new label. A label the table lacks is created as import would
 * (the edit's own rule, in db/row-edits); one no import could make (empty, too long, control
 * characters) is refused here.
 */
export function editBody(body: unknown, withLabel: boolean): { ids: number[]; label?: string } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { ids?: unknown; label?: unknown };
  const ids = b.ids;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_EDIT_IDS)
    throw new RequestError(400, 'bad_id', `ids must be a list of 1 to ${MAX_EDIT_IDS} row ids`);
  for (const id of ids)
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1)
      throw new RequestError(400, 'bad_id', `${JSON.stringify(id) ?? String(id)} is not a row id`);
  if (!withLabel) return { ids };
  const label = b.label;
  if (typeof label !== 'string' || label.trim() === '' || [...label].length > MAX_LABEL_LENGTH || CONTROL.test(label))
    throw new RequestError(
      400,
      'bad_label',
      `label must be text of 1 to ${MAX_LABEL_LENGTH} characters without control characters`,
    );
  return { ids, label };
}
