import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { spawn } from 'node:child_process';
import { freshDatabase } from '../helpers/db';
import { BIN } from '../helpers/cli';
import { grayPng, tempDir } from '../helpers/fixtures';

/**
 * Three `mldb import --create` processes into one new table at once, with overlapping folders and
 * images of two sizes: all finish, the table has one shape, and its rows are the distinct images.
 */
const db = freshDatabase();
afterAll(() => db.cleanup());

function folder(files: Array<{ label: string; name: string; bytes: Buffer }>): string {
  const dir = tempDir('mldb-conc-');
  for (const f of files) {
    fs.mkdirSync(path.join(dir, f.label), { recursive: true });
    fs.writeFileSync(path.join(dir, f.label, f.name), f.bytes);
  }
  return dir;
}

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: os.tmpdir(), MLDB_URL: db.url },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

test('three concurrent first imports into one table all finish with one shape and no duplicate', async () => {
  const large = Array.from({ length: 300 }, (_, i) => ({
    label: `l${i % 4}`,
    name: `${i}.png`,
    bytes: grayPng(28, 28, i + 1),
  }));
  const small = Array.from({ length: 300 }, (_, i) => ({
    label: `l${i % 4}`,
    name: `s${i}.png`,
    bytes: grayPng(20, 20, i + 5000),
  }));
  const dirs = [folder(large), folder(small), folder([...large.slice(100), ...small.slice(0, 200)])];
  const distinct = new Set([...large, ...small].map((f) => crypto.createHash('sha256').update(f.bytes).digest('hex')));
  for (const table of ['race_a', 'race_b', 'race_c']) {
    const results = await Promise.all(dirs.map((d) => run(['import', d, '--table', table, '--create'])));
    expect(results.map((r) => [r.code, r.stderr.match(/^mldb: .*/m)?.[0] ?? null])).toEqual([
      [0, null],
      [0, null],
      [0, null],
    ]);
    const conn = await db.mldb().connection();
    const sizes = await conn.query<{ l: number; n: number }>(
      `SELECT LENGTH(pixels) AS l, COUNT(*) AS n FROM ${table} GROUP BY l`,
    );
    expect(sizes).toHaveLength(1);
    expect([28 * 28, 20 * 20]).toContain(Number(sizes[0].l));
    expect(Number(sizes[0].n)).toBe(distinct.size);
  }
});
