import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { insertPredictions } from '../../src/db/predictions';
import { createRun } from '../../src/db/run-writes';
import { mldb as cli } from '../helpers/cli';
import { freshDatabase } from '../helpers/db';
import { loggedPrediction, runStart } from '../helpers/records';
import { makeLabeledFolder, tempDir } from '../helpers/fixtures';

/** One meaning for a label and for a time, wherever they are written or read. */

const db = freshDatabase();
afterAll(() => db.cleanup());

describe('labels', () => {
  test('spellings of one name are one label, said at import; a label of white space alone is refused', async () => {
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    const dir = makeLabeledFolder({ seven: 3, 'seven ': 2, [nfc]: 2, [nfd]: 1, '  ': 1 });
    const summary = await db.mldb('spelled').insertFolder(dir, { create: true });
    expect(summary.imported).toBe(8);
    expect(summary.rejected).toEqual([
      { path: path.join(dir, '  ', 'img-0.png'), reason: 'the label is empty once white space is trimmed' },
    ]);
    expect(summary.labelsRespelled).toEqual(
      expect.arrayContaining([
        { from: 'seven ', to: 'seven' },
        { from: nfd, to: nfc },
      ]),
    );
    const details = await db.mldb('spelled').describe('spelled');
    expect(details.labels.map((l) => [l.label, l.total])).toEqual([
      [nfc, 3],
      ['seven', 5],
    ]);
    const conn = await db.mldb().connection();
    const stored = await conn.query<{ label: string }>('SELECT DISTINCT BINARY label AS label FROM spelled');
    expect(stored.map((r) => Buffer.from(r.label).toString('utf8')).sort()).toEqual([nfc, 'seven']);
  });

  test('rows stored before labels had one spelling train as the class they name', async () => {
    const conn = await db.mldb().connection();
    // What an older mldb stored: `seven ` beside `seven`, one label to the server's collation.
    await conn.run("UPDATE spelled SET label = 'seven ' WHERE label = 'seven' ORDER BY id LIMIT 2");
    const save = path.join(tempDir(), 'model');
    const r = await db.mldb('spelled').train({ model: 'lenet5', epochs: 1, batchSize: 2, validationSplit: 0, save });
    expect(r.labels).toEqual(['caf\u00e9', 'seven']);
  });

  test('the CLI says which labels it stored under another spelling', () => {
    const dir = makeLabeledFolder({ 'tab\t': 1, ok: 1 }, 8, undefined, 50);
    const r = cli(['import', dir, '--create', '--table', 'spelled_cli'], { MLDB_URL: db.url });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/label "tab\\t" stored as "tab" \(labels are kept without outer white space/);
  });
});

describe('times', () => {
  // Fourteen hours ahead of UTC: a client far from the server (which runs in this machine's zone).
  const farAhead = { MLDB_URL: db.url, TZ: 'Pacific/Kiritimati' };

  test('a client in another zone reads the instants written, by itself and by the server', async () => {
    const conn = await db.mldb().connection();
    const id = await createRun(conn, runStart({ name: 'zoned', dataset: 'spelled', host: 'another-host', pid: 1 }));
    const runs = cli(['runs', '--json'], farAhead);
    expect(runs.code).toBe(0);
    const run = JSON.parse(runs.stdout).runs.find((r: { id: number }) => r.id === id);
    expect(Math.abs(Date.parse(run.startedAt) - Date.now())).toBeLessThan(10 * 60_000);

    const logged = uuidv7();
    await insertPredictions(conn, [loggedPrediction({ id: logged })]);
    const [row] = await conn.query<{ t: string }>('SELECT UNIX_TIMESTAMP(created_at) AS t FROM mldb_predictions');
    expect(Math.abs(Number(row.t) * 1000 - Date.now())).toBeLessThan(10 * 60_000);
    const recent = cli(['predictions', '--since', '1h', '--json'], farAhead);
    expect(recent.code).toBe(0);
    expect(JSON.parse(recent.stdout).predictions.map((p: { id: string }) => p.id)).toEqual([logged]);
  });
});
