import type { Db } from '../db/db';
import { findDataset } from '../db/registry';
import { RequestError } from '../http/request-error';

/** A registered dataset, or 404: names reach SQL only after the registry knows them. */
export async function knownDataset(db: Db, name: string) {
  const ds = await findDataset(db, name);
  if (!ds) throw new RequestError(404, 'not_found', `no dataset table "${name}"`);
  return ds;
}
