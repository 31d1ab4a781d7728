import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The lint rules that keep SQL and the driver in src/db/ are part of `npm test` (npm run lint);
 * this checks that they do fire on a planted violation, so that a config change cannot turn them
 * off silently. ESLint runs as a child process: its config is an ES module, which jest cannot load.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const ESLINT = path.join(ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js');

async function lint(code: string, file: string): Promise<string[]> {
  const r = spawnSync(
    process.execPath,
    [
      ESLINT,
      '--stdin',
      '--stdin-filename',
      file,
      '--parser-options',
      'projectService:false',
      '--rule',
      '@typescript-eslint/no-floating-promises: off',
      '-f',
      'json',
    ],
    { cwd: ROOT, input: code, encoding: 'utf8' },
  );
  const [result] = JSON.parse(r.stdout) as { messages: { ruleId: string; message: string }[] }[];
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

/** Several files linted by one ESLint process, through its Node API: one message list per file. */
function lintMany(files: { code: string; filePath: string }[]): string[][] {
  const script = `
    import { ESLint } from 'eslint';
    const files = JSON.parse(process.argv[1]);
    const eslint = new ESLint({
      overrideConfig: {
        languageOptions: { parserOptions: { projectService: false } },
        rules: { '@typescript-eslint/no-floating-promises': 'off' },
      },
    });
    const out = [];
    for (const f of files) {
      const [result] = await eslint.lintText(f.code, { filePath: f.filePath });
      out.push(result.messages.map((m) => m.ruleId + ': ' + m.message));
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(files)], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as string[][];
}

describe('layering lint rules', () => {
  test('SQL outside src/db/ is an error', async () => {
    const messages = await lint("export const q = 'SELECT id FROM t WHERE x = ?';\n", 'src/ml/planted.ts');
    expect(messages).toEqual([expect.stringMatching(/^no-restricted-syntax: SQL belongs in src\/db\//)]);
  });

  test('the MySQL driver outside src/db/ is an error', async () => {
    const messages = await lint(
      "import mysql from 'mysql2/promise';\nexport const m = mysql;\n",
      'src/commands/planted.ts',
    );
    expect(messages.some((m) => m.startsWith('no-restricted-imports'))).toBe(true);
  });

  test('the same SQL inside src/db/ is fine; CLI wording there is not', async () => {
    expect(await lint("export const q = 'SELECT id FROM t WHERE x = ?';\n", 'src/db/planted.ts')).toEqual([]);
    const wording = await lint("export const hint = 'pass --test-fraction';\n", 'src/db/planted.ts');
    expect(wording).toEqual([expect.stringMatching(/no CLI wording in src\/db\//)]);
  });

  test('a lower layer importing a higher one is an error', async () => {
    const messages = await lint(
      "import { run } from '../commands/train';\nexport const r = run;\n",
      'src/db/planted.ts',
    );
    expect(messages.some((m) => m.startsWith('import/no-restricted-paths'))).toBe(true);
  });

  test('the shared HTTP pieces know neither server, and the dashboard does not reach into the service', async () => {
    const fromHttp = await lint(
      "import { buildApp } from '../serve/app';\nexport const b = buildApp;\n",
      'src/http/planted.ts',
    );
    expect(fromHttp.some((m) => m.startsWith('import/no-restricted-paths'))).toBe(true);
    const fromDashboard = await lint(
      "import { buildApp } from '../serve/app';\nexport const b = buildApp;\n",
      'src/dashboard/planted.ts',
    );
    expect(fromDashboard.some((m) => m.startsWith('import/no-restricted-paths'))).toBe(true);
    const allowed = await lint(
      "import { RequestError } from '../http/request-error';\nexport const e = RequestError;\n",
      'src/dashboard/planted.ts',
    );
    expect(allowed).toEqual([]);
  });

  test('settings, diagnosis and the shared top files do not reach up', () => {
    const [fromConfig, fromDoctor, fromErrors, allowed] = lintMany([
      {
        filePath: 'src/config.ts',
        code: "import { startLocalServer } from './local-servers/local-server';\nexport const s = startLocalServer;\n",
      },
      {
        filePath: 'src/doctor/planted.ts',
        code: "import { cliLine } from '../commands/cli-wording';\nexport const c = cliLine;\n",
      },
      { filePath: 'src/errors.ts', code: "import { loadConfig } from './config';\nexport const l = loadConfig;\n" },
      {
        filePath: 'src/config.ts',
        code: "import { readServerState } from './server-state';\nexport const r = readServerState;\n",
      },
    ]);
    for (const messages of [fromConfig, fromDoctor, fromErrors])
      expect(messages.some((m) => m.startsWith('import/no-restricted-paths'))).toBe(true);
    expect(allowed).toEqual([]);
  });

  test('every top folder and top file of src/ has a zone: each refuses an import nothing may make', () => {
    // Nothing imports the benchmarks; they in turn may not import the CLI.
    const top = fs
      .readdirSync(path.join(ROOT, 'src'), { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.name.endsWith('.ts'));
    const planted = top.map((e) => {
      const filePath = e.isDirectory() ? path.join('src', e.name, 'planted.ts') : path.join('src', e.name);
      const up = e.isDirectory() ? '..' : '.';
      const target = e.name === 'bench' ? `${up}/cli` : `${up}/bench/synthetic-images`;
      return { name: e.name, filePath, code: `import * as planted from '${target}';\nexport const p = planted;\n` };
    });
    expect(planted.length).toBeGreaterThan(25);
    const results = lintMany(planted);
    const open = planted.flatMap((p, i) =>
      results[i].some((m) => m.startsWith('import/no-restricted-paths'))
        ? []
        : [`${p.name}: ${results[i].join('; ') || 'no error'}`],
    );
    expect(open).toEqual([]);
  });
});
