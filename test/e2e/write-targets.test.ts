import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { mldb } from '../helpers/cli';
import { freshDatabase } from '../helpers/db';
import { makeLabeledFolder, tempDir } from '../helpers/fixtures';
import { fromFileSystemError } from '../../src/file-targets';
import { EXIT } from '../../src/errors';

/**
 * Where mldb writes: a target it cannot write is one line and exit 2, said before any row is
 * read, never an internal error or a spin on /proc.
 */

const db = freshDatabase();
const env = () => ({ MLDB_URL: db.url });
const work = tempDir();
let readOnly: string | undefined;
let tiny: string | undefined;

beforeAll(() => {
  const dir = makeLabeledFolder({ a: 3, b: 3 }, 8);
  expect(mldb(['import', dir, '--table', 'small', '--create'], env()).code).toBe(0);
  // A read-only file system, and a writable one of 64 KiB to fill up.
  readOnly = tryMount('read-only', 'ro,size=1m');
  tiny = tryMount('tiny', 'size=64k');
});

/** A tmpfs under `work`, where the machine lets us mount one (root in a container usually can). */
function tryMount(name: string, options: string): string | undefined {
  const point = path.join(work, name);
  fs.mkdirSync(point);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', point], { stdio: 'ignore' });
    return point;
  } catch {
    return undefined;
  }
}

afterAll(async () => {
  if (readOnly) execFileSync('umount', [readOnly]);
  if (tiny) execFileSync('umount', [tiny]);
  await db.cleanup();
});

function expectOneLine(r: { code: number | null; stderr: string }, code: number, message: RegExp): void {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code, stderr: expect.stringMatching(message) });
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
}

describe('export targets', () => {
  test('under a file, on /proc, and a file where the folder should be: exit 2, nothing written', () => {
    const file = path.join(work, 'a-file');
    fs.writeFileSync(file, 'x');
    expectOneLine(mldb(['export', 'small', path.join(file, 'out')], env()), 2, /a-file is a file, not a folder/);
    expectOneLine(mldb(['export', 'small', file], env()), 2, /a-file is a file, not a folder/);
    expectOneLine(mldb(['export', 'small', '/proc/mldb-export'], env()), 2, /pseudo-file-system/);
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });

  test('a read-only file system: exit 2 naming EROFS (or EACCES for a folder without write permission)', () => {
    if (readOnly) {
      expectOneLine(mldb(['export', 'small', path.join(readOnly, 'out')], env()), 2, /cannot write in .* \(EROFS\)/);
      expect(fs.readdirSync(readOnly)).toEqual([]);
    } else if (process.getuid?.() !== 0) {
      const locked = tempDir();
      fs.chmodSync(locked, 0o500);
      expectOneLine(mldb(['export', 'small', path.join(locked, 'out')], env()), 2, /cannot write in .* \(EACCES\)/);
    } else {
      console.warn('skipped: root cannot mount a read-only file system here, and permissions do not stop root');
    }
  });

  test('a disk that fills up while writing: one line naming ENOSPC, exit 2', () => {
    if (!tiny) {
      console.warn('skipped: cannot mount a small file system here');
      return;
    }
    // 20 noise images of 64×64 (≈4 KiB each) do not fit in 64 KiB.
    const dir = makeLabeledFolder({ big: 20 }, 64);
    expect(mldb(['import', dir, '--table', 'roomy', '--create'], env()).code).toBe(0);
    expectOneLine(
      mldb(['export', 'roomy', path.join(tiny, 'out')], env()),
      2,
      /no space left on the device \(ENOSPC\)/,
    );
    // What was written is whole: no half file for a re-run to take as another image.
    const written = fs.readdirSync(path.join(tiny, 'out', 'big'));
    expect(written.length).toBeGreaterThan(0);
    for (const f of written) {
      const same = fs.readFileSync(path.join(tiny, 'out', 'big', f)).equals(fs.readFileSync(path.join(dir, 'big', f)));
      expect({ f, same }).toEqual({ f, same: true });
    }
  });

  test('a good target still works after the checks', () => {
    const out = path.join(work, 'exported', 'deeper');
    const r = mldb(['export', 'small', out, '--json'], env());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).written).toBe(6);
  });
});

describe('file-system errors met while writing are user errors', () => {
  test('real ENOTDIR, EEXIST, EISDIR and ENOENT errors become one-line messages with exit codes', () => {
    const file = path.join(work, 'plain');
    fs.writeFileSync(file, '');
    const caught = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return fromFileSystemError(e);
      }
      throw new Error('did not throw');
    };
    const notDir = caught(() => fs.mkdirSync(path.join(file, 'x')));
    expect([notDir?.exitCode, notDir?.line]).toEqual([
      EXIT.USAGE,
      `cannot create folder ${path.join(file, 'x')}: a part of the path is a file, not a folder (ENOTDIR): ` +
        'choose another path',
    ]);
    expect(caught(() => fs.mkdirSync(work))?.line).toMatch(/^cannot create folder .*: already exists \(EEXIST\)/);
    expect(caught(() => fs.writeFileSync(work, 'x'))?.line).toMatch(/^cannot open .*: is a folder \(EISDIR\)/);
    const missing = caught(() => fs.readFileSync(path.join(work, 'nope')));
    expect([missing?.exitCode, missing?.line]).toEqual([
      EXIT.NOT_FOUND,
      `cannot open ${path.join(work, 'nope')}: no such file or folder`,
    ]);
    expect(fromFileSystemError(new Error('not a file-system error'))).toBeUndefined();
  });
});
