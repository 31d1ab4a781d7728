import fs from 'node:fs';
import path from 'node:path';
import { mldb } from '../helpers/cli';
import { freshDatabase } from '../helpers/db';
import { grayPng, rgbPng, tempDir } from '../helpers/fixtures';
import { PNG } from 'pngjs';

const db = freshDatabase();
afterAll(() => db.cleanup());
const env = () => ({ MLDB_URL: db.url });

/** DIR/<label>/<i>.png for each label, from a file maker. */
function folder(labels: string[], count: number, make: (seed: number) => Buffer): string {
  const dir = tempDir();
  let seed = 1;
  for (const label of labels) {
    fs.mkdirSync(path.join(dir, label));
    for (let i = 0; i < count; i++) fs.writeFileSync(path.join(dir, label, `${i}.png`), make(seed++));
  }
  return dir;
}

/** An RGB PNG whose every pixel is gray (R = G = B), as many tools save grayscale. */
function grayAsRgbPng(size: number, seed: number): Buffer {
  const png = new PNG({ width: size, height: size });
  for (let i = 0; i < size * size; i++) {
    const v = (i * 7 + seed * 13) & 0xff;
    png.data.set([v, v, v, 255], i * 4);
  }
  return PNG.sync.write(png);
}

describe('table shapes: partial flags merge with the first image', () => {
  test('create-table --channels 3 alone keeps 3 channels; the size comes from the first image', () => {
    expect(mldb(['create-table', 'only_channels', '--channels', '3'], env()).code).toBe(0);
    const dir = folder(['a', 'b'], 2, (s) => grayPng(12, 12, s));
    expect(mldb(['import', dir, '--table', 'only_channels'], env()).code).toBe(0);
    const show = JSON.parse(mldb(['show', 'only_channels', '--json'], env()).stdout);
    expect(show.dataset.shape).toEqual({ height: 12, width: 12, channels: 3 });
  });

  test('create-table --resize pad: created, shown and listed with its mode; an unknown mode is exit 2', () => {
    const created = mldb(['create-table', 'letterboxed', '--size', '8', '--channels', '3', '--resize', 'pad'], env());
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch('resize pad (fill 0, black)');
    expect(mldb(['show', 'letterboxed'], env()).stdout).toMatch('shape 8x8x3, resize pad (fill 0, black)');
    expect(mldb(['tables'], env()).stdout).toMatch(/letterboxed .* pad \(fill 0, black\)/);
    expect(JSON.parse(mldb(['show', 'letterboxed', '--json'], env()).stdout).dataset.resize).toBe('pad');
    const odd = mldb(['create-table', 'squashed', '--resize', 'squash'], env());
    expect(odd.code).toBe(2);
    expect(odd.stderr).toMatch("'squash' is invalid");
  });

  test('import --create --resize crop: the new table crops as create-table --resize would; a bad mode: exit 2', () => {
    const dir = folder(['a', 'b'], 2, (s) => rgbPng(16, 16, s));
    const r = mldb(['import', dir, '--table', 'cropped', '--create', '--size', '8', '--resize', 'crop'], env());
    expect(r.code).toBe(0);
    expect(mldb(['show', 'cropped'], env()).stdout).toMatch('shape 8x8x3, resize crop (centred)');
    expect(JSON.parse(mldb(['show', 'cropped', '--json'], env()).stdout).dataset.resize).toBe('crop');
    const other = mldb(['import', dir, '--table', 'cropped', '--resize', 'pad'], env());
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch('table "cropped" already resizes by crop, not pad');
    const odd = mldb(['import', dir, '--table', 'squashed', '--create', '--resize', 'squash'], env());
    expect(odd.code).toBe(2);
    expect(odd.stderr).toMatch("'squash' is invalid");
    expect(mldb(['tables'], env()).stdout).not.toMatch('squashed');
  });

  test("--size alone keeps the first image's channels (RGB here), not 1", () => {
    const dir = folder(['a', 'b'], 2, (s) => rgbPng(16, 16, s));
    const r = mldb(['import', dir, '--table', 'only_size', '--create', '--size', '8', '--json'], env());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).shape).toEqual({ height: 8, width: 8, channels: 3 });
  });

  test('a requested part that contradicts the table is refused, naming the flag', () => {
    const dir = folder(['a'], 1, (s) => grayPng(12, 12, s));
    const r = mldb(['import', dir, '--table', 'only_channels', '--channels', '1'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/stores images at 12x12x3, not the requested 12x12x1/);
  });

  test('an RGB first image whose pixels are gray: the import says so and names --channels 1', () => {
    const dir = folder(['a', 'b'], 2, (s) => grayAsRgbPng(10, s));
    const r = mldb(['import', dir, '--table', 'gray_rgb', '--create'], env());
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/stored as RGB but its pixels are gray.*--channels 1/);
    const json = mldb(['import', dir, '--table', 'gray_rgb2', '--create', '--json'], env());
    expect(JSON.parse(json.stdout)).toMatchObject({ grayStoredAsRgb: true, shape: { channels: 3 } });
    const real = mldb(
      ['import', folder(['a'], 1, (s) => rgbPng(10, 10, s)), '--table', 'rgb', '--create', '--json'],
      env(),
    );
    expect(JSON.parse(real.stdout).grayStoredAsRgb).toBe(false);
  });
});

describe('training flags are checked by one schema and worded as flags', () => {
  test.each([
    [['--batch-size', '0'], /^mldb: --batch-size must be at least 1, got 0$/m],
    [['--learning-rate', 'fast'], /^mldb: --learning-rate must be a number, got "fast"$/m],
    [['--workers', '65'], /^mldb: --workers must be at most 64, got 65$/m],
    [['--seed', '4294967296'], /^mldb: --seed must be at most 4294967295, got 4294967296$/m],
    [['--validation-split', '1'], /^mldb: --validation-split must be below 1, got 1$/m],
    [['--min-accuracy', '1.5'], /--min-accuracy/],
    [['--optimizer', 'lamb'], /argument 'lamb' is invalid. Allowed choices are sgd, momentum/],
    [['--backend', 'bogus'], /Allowed choices are auto, onnxruntime, onednn, tensorflow, wasm, cpu/],
  ])('train %j is a usage error (exit 2) before anything runs', (flags, message) => {
    const r = mldb(['train', '--model', 'lenet5', '--table', 'nothing_here', ...flags], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  test('the library names the field; the CLI maps a missing table to the command that creates it', () => {
    const r = mldb(['show', 'no_such_table'], env());
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/create it with `mldb create-table no_such_table`/);
  });
});

describe('train flags the run record or the data cannot take are usage errors, before any run row', () => {
  test('--name or --save too long, --save on /proc, a batch larger than the rows: exit 2, no run', async () => {
    const dir = folder(['a', 'b'], 6, (s) => grayPng(8, 8, s + 900));
    expect(mldb(['import', dir, '--table', 'flags', '--create'], env()).code).toBe(0);
    const runs = async () =>
      Number((await (await db.mldb().connection()).query<{ n: number }>('SELECT COUNT(*) AS n FROM mldb_runs'))[0].n);
    const before = await runs();
    const cases: Array<[string[], RegExp]> = [
      [['--name', 'n'.repeat(192)], /--name is longer than 191 characters/],
      [['--save', path.join(tempDir(), 'd'.repeat(300))], /--save has a name longer than 255 bytes/],
      [
        ['--save', path.join(tempDir(), ...Array(12).fill('d'.repeat(100)))],
        /--save path is longer than 1024 characters/,
      ],
      [['--save', '/proc/mldb-model'], /is on a kernel pseudo-file-system/],
      [['--save', path.join(dir, 'a', '0.png', 'model')], /is a file, not a folder/],
      [['--batch-size', '10000'], /--batch-size 10000 is larger than the \d+ training rows/],
    ];
    for (const [flags, message] of cases) {
      const r = mldb(['train', '--table', 'flags', '--model', 'lenet5', '--epochs', '1', ...flags], env());
      expect({ flags, code: r.code, stderr: r.stderr.trim() }).toEqual({
        flags,
        code: 2,
        stderr: expect.stringMatching(new RegExp(`^mldb: [^\\n]*${message.source}[^\\n]*$`)),
      });
    }
    expect(await runs()).toBe(before);
  });

  test('an architecture the table is too small for: one line naming its smallest size', async () => {
    const dir = folder(['a', 'b'], 6, (s) => grayPng(3, 3, s + 950));
    expect(mldb(['import', dir, '--table', 'tiny', '--create'], env()).code).toBe(0);
    const r = mldb(['train', '--table', 'tiny', '--model', 'keras_mnist_cnn', '--epochs', '1'], env());
    expect([r.code, r.stderr.trim()]).toEqual([
      2,
      'mldb: keras_mnist_cnn needs images of at least 6x6 pixels; these are 3x3: use a table of a larger --size, ' +
        'or a model that takes any size (simple_cnn, simpler_cnn, resnet_small)',
    ]);
    const listed = mldb(['models', '--size', '3', '--json'], env());
    expect(listed.code).toBe(0);
    const lenet = JSON.parse(listed.stdout).models.find((m: { name: string }) => m.name === 'lenet5');
    expect(lenet).toMatchObject({ minSize: 4, parameters: null });
  });
});

test('file names with terminal escape sequences are printed escaped, never raw', () => {
  const dir = folder(['ok'], 2, (s) => grayPng(8, 8, s + 1200));
  fs.writeFileSync(path.join(dir, 'ok', 'evil\u001b[2J\u001b[31m.png'), 'not an image');
  const r = mldb(['import', dir, '--table', 'escapes', '--create'], env());
  expect(r.code).toBe(6);
  expect(r.stdout).toContain('evil\\x1b[2J\\x1b[31m.png');
  expect(r.stdout.includes('\u001b')).toBe(false);
});
