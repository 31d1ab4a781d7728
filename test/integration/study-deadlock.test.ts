import type { Db, Queryable } from '../../src/db/db';
import { escapeId } from '../../src/db/identifiers';
import { STUDIES_TABLE, TRIALS_TABLE } from '../../src/db/schema';
import { claimTrial } from '../../src/db/trial-claims';
import { openStudy } from '../../src/study/study';
import type { StudySpec } from '../../src/study/types';
import { freshDatabase } from '../helpers/db';

const db = freshDatabase();
afterAll(() => db.cleanup());

const S = escapeId(STUDIES_TABLE);
const T = escapeId(TRIALS_TABLE);

const spec: StudySpec = {
  name: 'deadlock',
  space: { x: { kind: 'uniform', low: 0, high: 1 } },
  sampler: 'random',
  trials: 20,
  seed: 0,
  pruner: 'none',
  startupTrials: 0,
  objective: 'score',
  direction: 'maximize',
};

/**
 * Polls until a connection other than `otherId` is running the claim's INSERT of a trial: it waits
 * there for the row lock the other side holds (INNODB_TRX does not list the claim's transaction on
 * MariaDB before it has written, so the process list says where it is).
 */
async function untilClaimWaits(watcher: Queryable, otherId: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const rows = await watcher.query(
      `SELECT 1 FROM information_schema.PROCESSLIST WHERE ID <> ? AND INFO LIKE 'INSERT INTO %${TRIALS_TABLE}%'`,
      [otherId],
    );
    if (rows.length > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the claim never waited for the trial row');
}

const deadlocks = async (watcher: Queryable) =>
  Number(
    (
      await watcher.query<{ n: string }>(
        `SELECT VARIABLE_VALUE AS n FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_DEADLOCKS'`,
      )
    )[0].n,
  );

describe('claims against a real InnoDB deadlock', () => {
  test('a worker whose claim is chosen as the deadlock victim retries, then claims the trial', async () => {
    const worker: Db = await db.mldb().connection();
    const other: Db = await db.mldb().connection();
    const watcher: Db = await db.mldb().connection();
    const study = await openStudy(worker, spec);
    const before = await deadlocks(watcher);

    const claimed = await other.session(async (conn) => {
      const [{ id: otherId }] = await conn.query<{ id: number }>('SELECT CONNECTION_ID() AS id');
      // The other side takes the locks in the opposite order to a claim: trial rows first (trial 0,
      // the one a claim inserts next, and a few more so that it weighs more than the claim and
      // InnoDB picks the claim as the victim), then the study row.
      await conn.run('START TRANSACTION');
      await conn.run(
        `INSERT INTO ${T} (study_id, number, state, worker, attempts, heartbeat_at, started_at, steps)
         VALUES ${[0, 1, 2, 3, 4].map(() => "(?, ?, 'running', 'other', 1, NOW(3), NOW(3), '[]')").join(', ')}`,
        [0, 1, 2, 3, 4].flatMap((n) => [study.id, n]),
      );
      // The claim locks the study row, then waits on trial 0's key, which the other side holds.
      const claim = claimTrial(worker, study.id, 'worker-a', 60_000, true).then(
        (row) => ({ row, error: null }),
        (error: unknown) => ({ row: null, error }),
      );
      await untilClaimWaits(watcher, otherId);
      // The cycle: this waits for the claim's study row lock while the claim waits for this side's
      // trial row. InnoDB rolls the lighter one (the claim) back with errno 1213.
      await conn.query(`SELECT next_number FROM ${S} WHERE id = ? FOR UPDATE`, [study.id]);
      // The other side gives up its trials; the claim's retry then finds trial 0 free.
      await conn.run('ROLLBACK');
      return claim;
    });

    expect(claimed.error).toBeNull();
    expect(claimed.row).toMatchObject({ number: 0, state: 'running', worker: 'worker-a' });
    // A deadlock did happen, and the claim was its victim (the other side's statement went through).
    expect(await deadlocks(watcher)).toBeGreaterThan(before);
    const rows = await watcher.query<{ number: number; worker: string }>(
      `SELECT number, worker FROM ${T} WHERE study_id = ? ORDER BY number`,
      [study.id],
    );
    expect(rows.map((r) => [Number(r.number), r.worker])).toEqual([[0, 'worker-a']]);
  });
});
