import fs from 'node:fs';
import path from 'node:path';
import { walkLabeledFolder } from '../../src/ingest/walk-labeled-folder';
import { NotFoundError } from '../../src/errors';
import { tempDir } from '../helpers/fixtures';

describe('walkLabeledFolder', () => {
  test('finds nested files under labels, skips hidden ones, rejects loose files and loops', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'cat', 'sub', 'deeper'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'dog'));
    fs.writeFileSync(path.join(dir, 'cat', 'a.png'), 'x');
    fs.writeFileSync(path.join(dir, 'cat', 'sub', 'deeper', 'b.png'), 'x');
    fs.writeFileSync(path.join(dir, 'cat', '.DS_Store'), 'x');
    fs.writeFileSync(path.join(dir, 'loose.png'), 'x');
    fs.symlinkSync(path.join(dir, 'cat'), path.join(dir, 'cat', 'sub', 'loop'));
    fs.symlinkSync(path.join(dir, 'missing'), path.join(dir, 'dog', 'dangling.png'));
    const { files, rejected } = walkLabeledFolder(dir);
    expect(files.map((f) => f.relative)).toEqual(['cat/a.png', 'cat/sub/deeper/b.png']);
    expect(files.every((f) => f.label === 'cat')).toBe(true);
    const reasons = rejected.map((r) => `${path.relative(dir, r.path)}: ${r.reason}`);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^loose.png: not inside a label folder/),
        expect.stringMatching(/^cat\/sub\/loop: symlink loop/),
        expect.stringMatching(/^dog\/dangling.png: broken symlink/),
      ]),
    );
  });

  test('a missing directory is a NotFoundError', () => {
    expect(() => walkLabeledFolder('/nonexistent/mldb')).toThrow(NotFoundError);
  });
});

test('a label folder that vanishes between listing and reading is rejected, not a crash', () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'gone'));
  fs.mkdirSync(path.join(dir, 'kept'));
  fs.writeFileSync(path.join(dir, 'kept', 'a.png'), 'x');
  // Listed as a folder, then removed before the walk reaches it: what a busy /tmp does.
  const realStat = fs.statSync;
  let removed = false;
  const spy = jest.spyOn(fs, 'statSync').mockImplementation(((p: fs.PathLike, o?: fs.StatSyncOptions) => {
    if (!removed && String(p) === path.join(dir, 'kept')) {
      fs.rmSync(path.join(dir, 'gone'), { recursive: true });
      removed = true;
    }
    return realStat(p, o);
  }) as typeof fs.statSync);
  try {
    const { files, rejected } = walkLabeledFolder(dir);
    expect(files.map((f) => f.relative)).toEqual(['kept/a.png']);
    expect(rejected.map((r) => [path.basename(r.path), r.reason])).toEqual([['gone', 'cannot read folder (ENOENT)']]);
  } finally {
    spy.mockRestore();
  }
});
