import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from '../helpers/db';
import { mldb, mldbAsync } from '../helpers/cli';
import { SAMPLE_DIGITS, tempDir } from '../helpers/fixtures';

const db = freshDatabase();
afterAll(() => db.cleanup());
const env = () => ({ MLDB_URL: db.url, MLDB_TABLE: 'digits' });
const work = tempDir();
const modelDir = path.join(work, 'model');

beforeAll(() => {
  expect(mldb(['import', SAMPLE_DIGITS, '--create', '--table', 'digits'], { MLDB_URL: db.url }).code).toBe(0);
});

describe('train → evaluate → predict from the command line', () => {
  test('train --json: one document on stdout; epoch lines and the backend on stderr', () => {
    const r = mldb(
      [
        'train',
        '--model',
        'lenet5',
        '--epochs',
        '3',
        '--batch-size',
        '32',
        '--backend',
        'wasm',
        '--save',
        modelDir,
        '--json',
      ],
      env(),
    );
    expect(r.stderr).not.toMatch(/^mldb:/m);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      table: 'digits',
      model: 'lenet5',
      backend: 'wasm',
      stopReason: 'completed',
      savedTo: modelDir,
      split: { validationFrom: 'held-out' },
    });
    expect(doc.epochs).toHaveLength(3);
    expect(doc.test.accuracy).toBeGreaterThan(0.3);
    expect(r.stderr).toMatch(/backend: wasm/);
    expect(r.stderr).toMatch(/epoch 3\/3: loss \d/);
    // Not the tfjs banner that asks for the node backend: mldb says what it picked.
    expect(r.stderr).not.toMatch(/Hi there/);
    expect(fs.readdirSync(modelDir).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);
  });

  test('train prints a summary; plain progress lines when not a terminal', () => {
    const r = mldb(
      ['train', '--model', 'lenet5', '--epochs', '1', '--backend', 'wasm', '--save', path.join(work, 'm2')],
      env(),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      // The table's version read: `train --table digits@N` trains on those rows again.
      /trained lenet5 on digits@\d+: \d+ train \/ \d+ validation rows \(ids ≤ \d+\), 1 epoch\(s\), wasm backend/,
    );
    expect(r.stdout).toMatch(/test: loss [\d.]+ accuracy [\d.]+ on \d+ rows/);
    expect(r.stdout).toMatch(/saved to .*m2/);
    expect(r.stderr.includes('\u001b[')).toBe(false); // no spinner or colour codes in a log
  });

  test('evaluate prints per-class scores and a confusion matrix; --json has them all', () => {
    const text = mldb(['evaluate', '--model', modelDir], { MLDB_URL: db.url });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/on digits \(test split\): \d+ rows · loss [\d.]+ · accuracy [\d.]+/);
    expect(text.stdout).toMatch(/precision/);
    expect(text.stdout).toMatch(/confusion matrix/);
    const json = mldb(['evaluate', '--model', modelDir, '--json', '--split', 'train', '--read-parallelism', '3'], {
      MLDB_URL: db.url,
    });
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({
      table: 'digits',
      split: 'train',
      labels: expect.any(Array),
      confusion: expect.any(Array),
      classes: expect.any(Array),
    });
    expect(doc.classes[0]).toEqual({
      label: '0',
      support: expect.any(Number),
      precision: expect.any(Number),
      recall: expect.any(Number),
      f1: expect.any(Number),
    });
  });

  test('onnxruntime and tfjs engines agree; models export writes an ONNX file; each says which ran', () => {
    const evaluate = (engine: string) => {
      const r = mldb(['evaluate', '--model', modelDir, '--engine', engine, '--json'], { MLDB_URL: db.url });
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout);
    };
    const native = evaluate('onnxruntime');
    const tfjs = evaluate('tfjs');
    expect(native.engine).toMatch(/^onnxruntime \d+\.\d+\.\d+ \(cpu, \d+ threads?\)$/);
    expect(tfjs.engine).toBe('tfjs (wasm)');
    expect(evaluate('auto').engine).toBe(native.engine); // installed here: auto takes it
    expect(native.confusion).toEqual(tfjs.confusion);
    expect(native.loss).toBeCloseTo(tfjs.loss, 5);
    const seven = path.join(SAMPLE_DIGITS, '7', fs.readdirSync(path.join(SAMPLE_DIGITS, '7'))[0]);
    const predicted = mldb(['predict', '--model', modelDir, seven, '--engine', 'onnxruntime'], {});
    expect(predicted.code).toBe(0);
    expect(predicted.stdout).toMatch(/^engine: onnxruntime /m);

    const file = path.join(work, 'model.onnx');
    const exported = mldb(['models', 'export', modelDir, '--format', 'onnx', '--out', file, '--json'], {});
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({
      action: 'export',
      format: 'onnx',
      file,
      bytes: fs.statSync(file).size,
    });
    // An ONNX ModelProto: field 1 (ir_version) first, then the producer "mldb".
    const bytes = fs.readFileSync(file);
    expect(bytes[0]).toBe(0x08);
    expect(bytes.includes(Buffer.from('mldb'))).toBe(true);
    expect(bytes.includes(Buffer.from(JSON.stringify(native.labels)))).toBe(true); // labels in metadata_props
    const again = mldb(['models', 'export', modelDir, '--format', 'onnx', '--out', file], {});
    expect([again.code, again.stderr.trim()]).toEqual([2, expect.stringMatching(/already exists/)]);
    const noFormat = mldb(['models', 'export', modelDir], {});
    expect([noFormat.code, noFormat.stderr.trim()]).toEqual([2, expect.stringMatching(/--format is required/)]);
    expect(mldb(['models', 'export', path.join(work, 'missing'), '--format', 'onnx'], {}).code).toBe(4);
  });

  test('--backend onednn trains, the same run twice alike; it names what it cannot run', () => {
    const train = (args: string[]) =>
      mldb(['train', '--model', 'simple_cnn', '--epochs', '2', '--backend', 'onednn', '--seed', '3', ...args], env());
    const runs = [1, 2].map((k) => {
      const r = train(['--save', path.join(work, `onednn${k}`), '--json']);
      expect(r.stderr).not.toMatch(/^mldb:/m);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/backend: onednn \(oneDNN \d+\.\d+\.\d+ through mldb’s addon, native kernels/);
      return JSON.parse(r.stdout);
    });
    expect(runs[0]).toMatchObject({ backend: 'onednn', stopReason: 'completed' });
    expect(runs[0].epochs).toHaveLength(2);
    expect(runs[1].epochs.map((e: { loss: number }) => e.loss)).toEqual(
      runs[0].epochs.map((e: { loss: number }) => e.loss),
    );
    expect(runs[1].test).toEqual(runs[0].test);
    // The saved model is a tfjs model like any other: evaluated on either inference engine alike.
    const evaluate = (engine: string) =>
      JSON.parse(
        mldb(['evaluate', '--model', path.join(work, 'onednn1'), '--engine', engine, '--json'], { MLDB_URL: db.url })
          .stdout,
      );
    expect(evaluate('onnxruntime').confusion).toEqual(evaluate('tfjs').confusion);

    const sgd = train(['--optimizer', 'sgd']);
    expect([sgd.code, sgd.stderr]).toEqual([2, expect.stringMatching(/--backend onednn trains with adam, not sgd/)]);
  });

  test('predict: a table of predictions; unreadable files are named and exit 6; none readable exits 5', () => {
    const seven = path.join(SAMPLE_DIGITS, '7', fs.readdirSync(path.join(SAMPLE_DIGITS, '7'))[0]);
    const ok = mldb(['predict', '--model', modelDir, seven, '--json'], {});
    expect(ok.code).toBe(0);
    const doc = JSON.parse(ok.stdout);
    expect(doc.predictions[0]).toMatchObject({
      file: seven,
      label: expect.any(String),
      confidence: expect.any(Number),
    });
    expect(doc.predictions[0].top).toHaveLength(3);
    const some = mldb(['predict', '--model', modelDir, seven, '/nonexistent.png'], {});
    expect(some.code).toBe(6);
    expect(some.stdout).toContain(seven);
    expect(some.stderr.trim()).toBe('mldb: cannot read /nonexistent.png: no such file');
    const none = mldb(['predict', '--model', modelDir, '/nonexistent.png'], {});
    expect(none.code).toBe(5);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('bad input: each a one-line error with a fix and its exit code', () => {
    const occupied = tempDir();
    fs.writeFileSync(path.join(occupied, 'notes.txt'), 'not a model');
    const cases: Array<[string[], number, RegExp]> = [
      [['train'], 2, /--model is required/],
      [['train', '--model', 'alexnet'], 2, /unknown model "alexnet".*simple_cnn/],
      [['train', '--model', 'lenet5', '--batch-size', '0'], 2, /--batch-size must be at least 1, got 0/],
      [['train', '--model', 'lenet5', '--batch-size', '100000'], 2, /larger than the \d+ training rows/],
      [
        ['train', '--model', 'lenet5', '--optimizer', 'lamb'],
        2,
        /argument 'lamb' is invalid. Allowed choices are .*adam/,
      ],
      [['train', '--model', 'lenet5', '--memory-budget', 'lots'], 2, /invalid --memory-budget/],
      [['train', '--model', 'lenet5', '--workers', '0'], 2, /--workers must be at least 1, got 0/],
      [['train', '--model', 'lenet5', '--reduce-lr-factor', '1'], 2, /--reduce-lr-factor must be below 1, got 1/],
      [['train', '--model', 'lenet5', '--bn-samples', '0'], 2, /--bn-samples must be at least 1, got 0/],
      [['train', '--model', 'lenet5', '--augment-zoom', '1'], 2, /--augment-zoom must be below 1, got 1/],
      [['train', '--model', 'lenet5', '--read-parallelism', '0'], 2, /invalid --read-parallelism "0".*from 1 to 8/],
      [['evaluate', '--model', modelDir, '--read-parallelism', 'many'], 2, /invalid --read-parallelism "many"/],
      [['train', '--model', 'lenet5', '--table', 'nope'], 4, /nope/],
      [['evaluate', '--model', path.join(work, 'missing')], 4, /no model at/],
      [['predict', '--model', modelDir], 2, /missing required argument|no images/],
      [['train', '--model', 'lenet5', '--save', occupied], 2, /already holds other files/],
      [
        [
          'train',
          '--model',
          'lenet5',
          '--save',
          path.join(SAMPLE_DIGITS, '7', fs.readdirSync(path.join(SAMPLE_DIGITS, '7'))[0]),
        ],
        2,
        /is a file/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const r = mldb(args, env());
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  test('--save over an earlier model replaces it; over any other folder it is refused and nothing is deleted', () => {
    const again = mldb(
      ['train', '--model', 'lenet5', '--epochs', '1', '--backend', 'wasm', '--save', modelDir, '--json'],
      env(),
    );
    expect(again.code).toBe(0);
    expect(fs.readdirSync(modelDir).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);
    expect(JSON.parse(fs.readFileSync(path.join(modelDir, 'metadata.json'), 'utf8')).runId).toBe(
      JSON.parse(again.stdout).runId,
    );
    const before = fs.readdirSync(work).sort();
    expect(mldb(['train', '--model', 'lenet5', '--save', '.'], env(), work).code).toBe(2);
    expect(fs.readdirSync(work).sort()).toEqual(before);
  });

  test('Ctrl-C stops after the current batch: exit 130, one line, and no model saved', async () => {
    const target = path.join(work, 'interrupted');
    const child = mldbAsync(
      ['train', '--model', 'lenet5', '--epochs', '500', '--backend', 'wasm', '--save', target],
      env(),
    );
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        if (/epoch 1\/500:/.test(stderr)) resolve();
      });
    });
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(
      /mldb: training interrupted by SIGINT after \d+ complete epoch\(s\) \(run \d+, recorded as interrupted\); no model was saved/,
    );
    expect(fs.existsSync(target)).toBe(false);
    expect(fs.readdirSync(work).filter((f) => f.includes('partial'))).toEqual([]);
    const [run] = JSON.parse(mldb(['runs', '--status', 'interrupted', '--json'], env()).stdout).runs;
    expect(run).toMatchObject({ status: 'interrupted', architecture: 'lenet5', modelDir: null });
    expect(run.epochsDone).toBeGreaterThanOrEqual(1);
    expect(stderr).toContain(`run ${run.id}, recorded as interrupted`);
  });
});
