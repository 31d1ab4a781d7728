import fs from 'node:fs';
import type { Db } from '../db/db';
import { getModel, readModelFiles } from '../db/models';
import { NotFoundError } from '../errors';
import { loadSavedModel, savedModelFromFiles, type SavedModel } from './artifacts';

/**
 * What `--model` names, wherever a model is used (evaluate, predict, serve, models pull):
 * `run:ID` is the model that run stored; an existing path is a model folder; anything else is a
 * stored model, by id, by name (its newest version) or as `name@version`. The database is opened
 * only for stored models, so a folder works without a server.
 */
export function isStoredReference(ref: string): boolean {
  if (/^run:\d+$/.test(ref)) return true;
  if (fs.existsSync(ref)) return false;
  // Something written like a path is a folder that is not there, not a stored name.
  return !/[/\\]/.test(ref) && !ref.startsWith('.') && !ref.startsWith('~');
}

export async function openModel(ref: string, connection: () => Promise<Db>): Promise<SavedModel> {
  if (!isStoredReference(ref)) return loadSavedModel(ref);
  const db = await connection();
  let stored;
  try {
    stored = await getModel(db, ref);
  } catch (e) {
    if (e instanceof NotFoundError && e.reason === 'model-missing' && !ref.startsWith('run:')) {
      throw new NotFoundError(`no model folder or stored model "${ref}"`, e.hint, {
        reason: 'model-missing',
        subject: ref,
      });
    }
    throw e;
  }
  const saved = await savedModelFromFiles(await readModelFiles(db, stored), `${stored.name}@${stored.version}`);
  return { ...saved, stored };
}
