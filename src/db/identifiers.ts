import mysql from 'mysql2';
import { UsageError } from '../errors';
import { RESERVED_WORDS } from './reserved-words';

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** mldb's own bookkeeping tables (registry, runs, predictions) live under this prefix. */
export const INTERNAL_PREFIX = 'mldb_';

/**
 * Validates a user-supplied dataset table name before any SQL is built with it. The pattern alone
 * rules out quotes, backticks, semicolons, spaces and over-long names.
 */
export function validateTableName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new UsageError('a table name is required', 'pass one, or set MLDB_TABLE');
  }
  const shown = JSON.stringify(name.length > 80 ? name.slice(0, 80) + '…' : name);
  if (name.length > 64) {
    throw new UsageError(
      `invalid table name ${shown}: longer than 64 characters`,
      'use letters, digits and _ (at most 64)',
    );
  }
  if (!TABLE_NAME.test(name)) {
    throw new UsageError(
      `invalid table name ${shown}`,
      'use letters, digits and _, starting with a letter or _ (at most 64 characters)',
    );
  }
  if (RESERVED_WORDS.has(name.toLowerCase())) {
    throw new UsageError(`invalid table name ${shown}: it is an SQL reserved word`, `try ${name}_data`);
  }
  if (name.toLowerCase().startsWith(INTERNAL_PREFIX)) {
    throw new UsageError(
      `invalid table name ${shown}: the ${INTERNAL_PREFIX} prefix is mldb's own`,
      'choose another name',
    );
  }
  return name;
}

/** Quotes an identifier; every table name in mldb's SQL goes through here. */
export function escapeId(name: string): string {
  return mysql.escapeId(name, true);
}
