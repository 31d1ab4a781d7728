import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from '../helpers/db';
import { tempDir } from '../helpers/fixtures';

/**
 * The package as npm publishes it: packed from this tree (already built by `npm test`), installed
 * into an empty project from the tarball, and used as a user would — the CLI through npx, the
 * library through its types.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const work = tempDir('mldb-package-');
const project = path.join(work, 'project');
const db = freshDatabase();
let tarball: string;
let files: string[];

function run(cmd: string, args: string[], cwd: string, env: Record<string, string | undefined> = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', ...env },
    timeout: 540_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  // --ignore-scripts: `prepare` would rebuild dist/ under the other test files' running CLIs.
  const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT);
  expect(packed.code).toBe(0);
  const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  tarball = path.join(work, info.filename);
  files = info.files.map((f) => f.path);
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-mldb', private: true }));
  // As the README says to: onnxruntime-node's install script would fetch CUDA providers (and fail offline).
  const installed = run('npm', ['install', '--no-audit', '--prefer-offline', tarball], project, {
    ONNXRUNTIME_NODE_INSTALL: 'skip',
  });
  expect({ code: installed.code, stderr: installed.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
}, 600_000);

afterAll(() => db.cleanup());

describe('the npm package', () => {
  test('holds what a user needs and nothing else', () => {
    for (const needed of [
      'package.json',
      'README.md',
      'bin/mldb.js',
      'dist/cli.js',
      'dist/index.js',
      'dist/index.d.ts',
    ])
      expect(files).toContain(needed);
    expect(files.filter((f) => f.startsWith('datasets/digits/')).length).toBeGreaterThan(400);
    expect(files).toContain('scripts/install-prerequisites.sh');
    const unwanted = files.filter((f) => /^(src|test|\.ci|docs)\/|^dist\/bench\/|\.map$|\.tsbuildinfo$/.test(f));
    expect(unwanted).toEqual([]);
    // Nothing in dist points at a source map the package does not carry.
    const installed = path.join(project, 'node_modules', 'mldb', 'dist');
    const mapped = fs
      .readdirSync(installed, { recursive: true, encoding: 'utf8' })
      .filter(
        (f) => f.endsWith('.js') && fs.readFileSync(path.join(installed, f), 'utf8').includes('sourceMappingURL'),
      );
    expect(mapped).toEqual([]);
  });

  test('npx mldb --help and npx mldb doctor --json work from the installed package', () => {
    const help = run('npx', ['--no-install', 'mldb', '--help'], project);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: mldb /);
    expect(help.stdout).toContain('doctor');
    const doctor = run('npx', ['--no-install', 'mldb', 'doctor', '--json'], project, { MLDB_URL: db.url });
    expect(doctor.code).toBe(0);
    const report = JSON.parse(doctor.stdout) as { ready: boolean; checks: { id: string; status: string }[] };
    expect(report.ready).toBe(true);
    // onnxruntime-node's CPU kernels come with the package: no install script is needed for them.
    expect(report.checks.find((c) => c.id === 'onnxruntime')?.status).toBe('ok');
  });

  test('TypeScript code imports MlDb from "mldb" with its types', () => {
    fs.writeFileSync(
      path.join(project, 'use.ts'),
      [
        "import { MlDb, EXIT, type DatasetSummary } from 'mldb';",
        "const db = new MlDb({ url: 'mysql://root@127.0.0.1:3306/mldb' });",
        'async function tables(): Promise<DatasetSummary[]> {',
        '  return db.listTables();',
        '}',
        'const code: number = EXIT.DATABASE;',
        'void tables().finally(() => db.close()).then(() => code);',
        '',
      ].join('\n'),
    );
    // A mistake the types must catch, so that a check that passes is a check that read them.
    fs.writeFileSync(path.join(project, 'wrong.ts'), "import { MlDb } from 'mldb';\nnew MlDb({ url: 42 });\n");
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    // --skipLibCheck as `tsc --init` sets it: tfjs' own declarations do not pass strict checks.
    const options = [
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      '--module',
      'node16',
      '--moduleResolution',
      'node16',
      '--target',
      'ES2022',
    ];
    const types = ['--typeRoots', path.join(ROOT, 'node_modules', '@types'), '--types', 'node'];
    const good = run(process.execPath, [tsc, ...options, ...types, 'use.ts'], project);
    expect(good.stdout + good.stderr).toBe('');
    expect(good.code).toBe(0);
    const bad = run(process.execPath, [tsc, ...options, ...types, 'wrong.ts'], project);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/wrong\.ts\(2,.*number.*string/);
  });
});
