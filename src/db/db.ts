import type { MldbConfig } from '../config';

/** What every statement runs on: a pool, or one pinned connection of it. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Rows as arrays in column order: no object per row, for the bulk reads where that cost shows. */
  queryArrays(sql: string, params?: unknown[]): Promise<unknown[][]>;
  /** For INSERT/UPDATE/DELETE/DDL: affected rows and the first insert id. */
  run(sql: string, params?: unknown[]): Promise<{ affectedRows: number; insertId: number }>;
}

/** The narrow seam the rest of src/db/ uses: queries with `?` parameters, one pinned session, close. */
export interface Db extends Queryable {
  /**
   * Runs `fn` on one connection of the pool: what session state needs (GET_LOCK, a transaction).
   * The connection goes back to the pool afterwards whatever happens.
   */
  session<T>(fn: (conn: Queryable) => Promise<T>): Promise<T>;
  /** The server's max_allowed_packet in bytes: every batch is sized under it. */
  maxAllowedPacket(): Promise<number>;
  close(): Promise<void>;
  readonly config: MldbConfig;
  /** Seconds a statement waits on a backend (MLDB_BACKEND_TIMEOUT, as the pool was opened with). */
  readonly backendTimeoutSeconds: number;
  /** Says something worth knowing that is not an error (a fallback taken); the CLI prints it on stderr. */
  note(text: string): void;
}
