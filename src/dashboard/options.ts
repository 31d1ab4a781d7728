import type { Db } from '../db/db';

export interface DashboardOptions {
  connect: () => Promise<Db>;
  /** With a token the dashboard may also write (correct a prediction's label); reads need it too. */
  token?: string;
}

/** The dashboard reads: runs orphaned by a killed process are shown settled, never written so. */
export const READ_ONLY = { write: false } as const;
