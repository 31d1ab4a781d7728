import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { backendTimeoutSeconds, describeTarget, maskUrl, readSettings, resolveConfig } from '../../src/config';
import { translateDbError } from '../../src/db/pool';
import { UsageError } from '../../src/errors';
import { tempDir } from '../helpers/fixtures';

describe('resolveConfig', () => {
  const cwd = tempDir();
  afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));

  test('defaults when nothing is set', () => {
    const c = resolveConfig({}, {}, cwd);
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 3306,
      user: 'root',
      database: 'mldb',
      table: 'images',
      source: 'default',
    });
  });

  test('flags > environment > .env > defaults', () => {
    fs.writeFileSync(path.join(cwd, '.env'), 'MLDB_URL=mysql://dot:dotpw@dothost:1111/dotdb\nMLDB_TABLE=dot_table\n');
    const fromDotenv = resolveConfig({}, {}, cwd);
    expect(fromDotenv).toMatchObject({
      host: 'dothost',
      port: 1111,
      user: 'dot',
      database: 'dotdb',
      table: 'dot_table',
      source: 'dotenv',
    });

    const env = { MLDB_URL: 'mysql://envu:envpw@envhost:2222/envdb', MLDB_TABLE: 'env_table' };
    const fromEnv = resolveConfig({}, env, cwd);
    expect(fromEnv).toMatchObject({
      host: 'envhost',
      port: 2222,
      user: 'envu',
      database: 'envdb',
      table: 'env_table',
      source: 'env',
    });

    const fromFlags = resolveConfig({ url: 'mysql://flagu@flaghost:3333/flagdb', table: 'flag_table' }, env, cwd);
    expect(fromFlags).toMatchObject({
      host: 'flaghost',
      port: 3333,
      user: 'flagu',
      database: 'flagdb',
      table: 'flag_table',
      source: 'flag',
    });
    fs.rmSync(path.join(cwd, '.env'));
  });

  test('individual variables override parts of the URL', () => {
    const c = resolveConfig({}, { MLDB_URL: 'mysql://u:p@h:1234/db', MLDB_PORT: '4321', MLDB_DATABASE: 'other' }, cwd);
    expect(c).toMatchObject({ host: 'h', port: 4321, user: 'u', database: 'other' });
  });

  test('the password never shows in JSON, String() or inspect', () => {
    const c = resolveConfig({ url: 'mysql://u:s3cr%40t-pw@h:1/db' }, {}, cwd);
    expect(c.password.reveal()).toBe('s3cr@t-pw');
    expect(JSON.stringify(c)).not.toContain('s3cr');
    expect(inspect(c, { depth: 5 })).not.toContain('s3cr');
    expect(String(c.password)).toBe('***');
    expect(Object.isFrozen(c)).toBe(true);
  });

  test('bad URLs and ports are usage errors that do not echo the password', () => {
    expect(() => resolveConfig({ url: 'postgres://u:hunter22@h/db' }, {}, cwd)).toThrow(UsageError);
    expect(() => resolveConfig({}, { MLDB_PORT: 'abc' }, cwd)).toThrow(/invalid port/);
    try {
      resolveConfig({ url: 'mysql://u:hunter22@h:notaport/db' }, {}, cwd);
      throw new Error('expected a failure');
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('hunter22');
    }
    expect(maskUrl('mysql://u:hunter22@h/db')).toBe('mysql://u:***@h/db');
  });

  test('options in the URL are refused by name, not dropped (a value is never shown)', () => {
    const refused = (url: string) => {
      try {
        resolveConfig({ url }, {}, cwd);
      } catch (e) {
        return e as UsageError;
      }
      throw new Error(`${url} was accepted`);
    };
    const e = refused('mysql://u:hunter22@h/db?ssl=%7B%22ca%22%3A%22secret-ca%22%7D&charset=latin1');
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toBe('the database URL carries options (ssl, charset) that mldb does not apply');
    expect(e.line).not.toMatch(/hunter22|secret-ca|latin1/);
    expect(refused('mysql://u@h/db#x').message).toMatch(/\(a #fragment\)/);
    expect(() => resolveConfig({}, { MLDB_URL: 'mysql://u@h/db?ssl=true' }, cwd)).toThrow(/carries options \(ssl\)/);
  });
});

describe('database refusals say what was refused', () => {
  // The driver's error codes, as mysql2 reports them (a server with grant tables is needed to
  // produce them for real; the local test server runs without).
  const config = resolveConfig(
    { url: 'mysql://ana:Secret-pw-1@db.example:3306/lab' },
    {},
    '/nonexistent-cwd-for-tests',
  );
  test.each([
    ['ER_ACCESS_DENIED_ERROR', /^access denied for ana@db.example:3306\/lab/],
    ['ER_DBACCESS_DENIED_ERROR', /^ana may not use database "lab" on db.example:3306 \(or it does not exist\)/],
  ])('%s', (code, message) => {
    const e = translateDbError(Object.assign(new Error('Access denied'), { code }), config);
    expect(e.message).toMatch(message);
    expect(`${e.message} ${e.hint}`).not.toMatch(/Secret-pw-1/);
  });
});

test('settings: one frozen value, the environment over .env; onnxruntime switches from the environment only', () => {
  const cwd = tempDir();
  fs.writeFileSync(
    path.join(cwd, '.env'),
    'MLDB_MEMORY_BUDGET=1G\nMLDB_READ_PARALLELISM=2\nMLDB_TABLE=dot\nMLDB_ONNX_SPINNING=0\nMLDB_ONNX_NCHWC=0\n',
  );
  const settings = readSettings({ MLDB_READ_PARALLELISM: '3', MLDB_UI_TOKEN: 'tok-sec' }, cwd);
  const { tokens, ...rest } = settings;
  expect(rest).toEqual({
    table: 'dot',
    memoryBudget: '1G',
    readParallelism: '3',
    onnx: { blocked: true, spinning: undefined },
  });
  expect(tokens.MLDB_UI_TOKEN?.reveal()).toBe('tok-sec');
  expect(tokens.MLDB_SERVE_TOKEN).toBeUndefined();
  expect(JSON.stringify(settings) + inspect(settings)).not.toMatch(/tok-sec/);
  expect(Object.isFrozen(settings)).toBe(true);
  expect(readSettings({ MLDB_ONNX_SPINNING: '0', MLDB_ONNX_NCHWC: '0' }, tempDir()).onnx).toEqual({
    blocked: false,
    spinning: false,
  });
  fs.rmSync(cwd, { recursive: true, force: true });
});

describe('MLDB_BACKEND_TIMEOUT', () => {
  const cwd = tempDir('mldb-backend-timeout-');
  test('60 s unless set; whole seconds from 1 to 3600, anything else refused by name', () => {
    expect(backendTimeoutSeconds({}, cwd)).toBe(60);
    expect(backendTimeoutSeconds({ MLDB_BACKEND_TIMEOUT: '5' }, cwd)).toBe(5);
    for (const bad of ['0', '1.5', 'soon', '3601'])
      expect(() => backendTimeoutSeconds({ MLDB_BACKEND_TIMEOUT: bad }, cwd)).toThrow(/^MLDB_BACKEND_TIMEOUT must be/);
  });
});

test('the server is named with the user escaped: a user name cannot carry terminal escapes into output', () => {
  const config = resolveConfig({}, { MLDB_USER: 'eve\x1b[2J\x1b[31m', MLDB_HOST: 'db.example' }, tempDir());
  expect(describeTarget(config)).toBe('eve\\x1b[2J\\x1b[31m@db.example:3306/mldb');
});
