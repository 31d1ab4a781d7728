import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { getArchitecture } from '../../src/ml/architectures/registry';
import { serializeModel, writeModelFolder } from '../../src/ml/artifacts';
import { tf } from '../../src/ml/tf';
import { mldb } from '../helpers/cli';
import { freshDatabase } from '../helpers/db';
import { tempDir } from '../helpers/fixtures';

/**
 * Model folders touch nothing outside themselves: `models push` stores only files inside the
 * folder it is given, and `models pull` replaces only a model folder, never a user's folder that
 * happens to carry a model file's name.
 */
const db = freshDatabase();
const env = { MLDB_URL: db.url };
const work = tempDir('mldb-model-folders-');
let model: string;

beforeAll(async () => {
  const net = getArchitecture('lenet5').build(tf, { inputShape: [20, 20, 1], numClasses: 3, seed: 1 });
  const files = await serializeModel(net, { labels: ['a', 'b', 'c'], inputShape: [20, 20, 1], architecture: 'lenet5' });
  net.dispose();
  model = await writeModelFolder(path.join(work, 'model'), files);
});
afterAll(() => db.cleanup());

/** A copy of the model folder whose model.json names its weights `paths`. */
function withWeightsAt(name: string, paths: string[]): string {
  const dir = path.join(work, name);
  fs.cpSync(model, dir, { recursive: true });
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  json.weightsManifest[0].paths = paths;
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  return dir;
}

test('models push refuses weights named outside the folder (../, absolute, a link out), storing nothing', () => {
  const secret = path.join(work, 'secret.bin');
  fs.copyFileSync(path.join(model, 'weights.bin'), secret); // the right size, so only the path can stop it
  const linked = withWeightsAt('linked', ['weights.bin']);
  fs.rmSync(path.join(linked, 'weights.bin'));
  fs.symlinkSync(secret, path.join(linked, 'weights.bin'));
  const cases = [withWeightsAt('up', ['../secret.bin']), withWeightsAt('absolute', [secret]), linked];
  for (const dir of cases) {
    const r = mldb(['models', 'push', dir, '--name', path.basename(dir)], env);
    expect({ dir: path.basename(dir), code: r.code }).toEqual({ dir: path.basename(dir), code: 5 });
    expect(r.stderr).toMatch(/^mldb: model\.json of ".*" names weights outside its folder/);
  }
  const listed = JSON.parse(mldb(['models', '--json'], env).stdout);
  expect(listed.stored ?? []).toEqual([]);
  // The folder itself still pushes.
  expect(mldb(['models', 'push', model, '--name', 'ok'], env).code).toBe(0);
});

test('models pull never deletes a folder standing where a model file would go', () => {
  const target = path.join(work, 'pulled');
  fs.mkdirSync(path.join(target, 'weights.bin'), { recursive: true });
  fs.writeFileSync(path.join(target, 'weights.bin', 'thesis.txt'), 'years of work');
  const r = mldb(['models', 'pull', 'ok', target], env);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/holds weights\.bin that is not a file/);
  expect(fs.readFileSync(path.join(target, 'weights.bin', 'thesis.txt'), 'utf8')).toBe('years of work');
  // Into a new folder it works.
  expect(mldb(['models', 'pull', 'ok', path.join(work, 'fresh')], env).code).toBe(0);
});

test('two processes saving to one folder at once take turns: the folder is always one whole model', async () => {
  const target = path.join(work, 'contended');
  const artifacts = path.resolve(__dirname, '..', '..', 'dist', 'ml', 'artifacts.js');
  // Each writer saves its own model (weights all one byte value) 25 times, as fast as it can.
  const writer = (byte: number) =>
    new Promise<number | null>((resolve) => {
      const script =
        `const { writeModelFolder } = require(${JSON.stringify(artifacts)});` +
        `const files = { modelJson: JSON.stringify({ weightsManifest: [{ paths: ['w'], weights: [] }] }),` +
        ` weights: Buffer.alloc(4 << 20, ${byte}), metadata: JSON.stringify({ writer: ${byte} }) };` +
        `(async () => { for (let i = 0; i < 25; i++) await writeModelFolder(${JSON.stringify(target)}, files); })()` +
        `.catch((e) => { console.error(e.message); process.exit(1); });`;
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.once('exit', resolve);
    });
  expect(await Promise.all([writer(1), writer(2)])).toEqual([0, 0]);
  const writerOf = JSON.parse(fs.readFileSync(path.join(target, 'metadata.json'), 'utf8')).writer;
  const weights = fs.readFileSync(path.join(target, 'weights.bin'));
  expect(weights.length).toBe(4 << 20);
  expect(weights.every((b) => b === writerOf)).toBe(true);
  expect(fs.readdirSync(work).filter((f) => f.startsWith('contended'))).toEqual(['contended']);
});
