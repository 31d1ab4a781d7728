import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { UsageError } from './errors';
import { Secret } from './secret';
import { readServerState } from './server-state';
import { printable } from './printable';

/** Where the connection settings came from: shown by `mldb db status` and in error hints. */
export type ConfigSource = 'flag' | 'env' | 'dotenv' | 'local-server' | 'default';

export interface MldbConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: Secret;
  readonly database: string;
  readonly table: string;
  readonly source: ConfigSource;
  /** The directory that holds `.mldb/` (local server state); found upward from cwd like `.git`. */
  readonly projectDir: string;
}

/** What a caller may set in code or by CLI flag; everything else comes from env / .env. */
export interface ConfigOverrides {
  url?: string;
  table?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
}

export const DEFAULT_TABLE = 'images';
export const DEFAULT_DATABASE = 'mldb';
const DEFAULTS = { host: '127.0.0.1', port: 3306, user: 'root', database: DEFAULT_DATABASE };

type Vars = Record<string, string | undefined>;

interface ConnectionParts {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
}

/** Parses mysql://user:password@host:port/database. Never echoes the password back on error. */
export function parseUrl(url: string): ConnectionParts {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`invalid database URL "${maskUrl(url)}"`, 'expected mysql://user:password@host:port/database');
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    throw new UsageError(
      `unsupported database URL scheme "${u.protocol}"`,
      'expected mysql://user:password@host:port/database',
    );
  }
  // WHATWG URLs end the host at the first / ? or #; an @ after that means the password holds one
  // of those characters unencoded, and the parse put part of it in the host or the path, where
  // it would be printed. Refuse, and print the URL masked up to its last @.
  const afterScheme = url.slice(url.indexOf('//') + 2);
  const hostEnd = afterScheme.search(/[/?#]/);
  if (hostEnd >= 0 && afterScheme.slice(hostEnd).includes('@')) {
    throw new UsageError(
      `invalid database URL "${maskUrl(url)}": an @ after the host`,
      'percent-encode special characters in the password (/ as %2F, ? as %3F, # as %23, @ as %40)',
    );
  }
  // mysql2 takes connection options as an object, not from the URL: a query (?ssl=…) would be
  // dropped without a word, and a user who asked for TLS would connect without it. Refused, by
  // the options' names only (a value may be a secret).
  if (u.search || u.hash) {
    const names = [...u.searchParams.keys(), ...(u.hash ? ['a #fragment'] : [])].join(', ');
    throw new UsageError(
      `the database URL carries options (${names}) that mldb does not apply`,
      'remove everything after the database name; mldb connects without TLS options',
    );
  }
  const decode = (part: string, what: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new UsageError(
        `the ${what} in the database URL has a malformed %-escape`,
        'percent-encode special characters in it (e.g. @ as %40, % as %25)',
      );
    }
  };
  const db = decode(u.pathname.replace(/^\//, ''), 'database name');
  return {
    host: u.hostname || undefined,
    port: u.port ? Number(u.port) : undefined,
    user: u.username ? decode(u.username, 'user') : undefined,
    password: u.password ? decode(u.password, 'password') : undefined,
    database: db || undefined,
  };
}

/**
 * A URL safe to print, parseable or not: everything between the first `:` after `scheme://` and
 * the last `@` is the password (it may itself hold `@`, `/`, `:` or `%` when not encoded), so it
 * is all replaced by ***. Masking too much is harmless; masking too little is a leak.
 */
export function maskUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([\s\S]*)$/i.exec(url);
  if (!m) return url.includes('@') ? '***' : url;
  const rest = m[2];
  const at = rest.lastIndexOf('@');
  const colon = rest.indexOf(':');
  if (at < 0 || colon < 0 || colon > at) return url;
  return `${m[1]}${rest.slice(0, colon + 1)}***${rest.slice(at)}`;
}

function partsFromVars(vars: Vars): ConnectionParts | undefined {
  const fromUrl = vars.MLDB_URL ? parseUrl(vars.MLDB_URL) : {};
  const port = vars.MLDB_PORT !== undefined ? parsePort(vars.MLDB_PORT) : undefined;
  const parts: ConnectionParts = {
    ...fromUrl,
    ...(vars.MLDB_HOST !== undefined && { host: vars.MLDB_HOST }),
    ...(port !== undefined && { port }),
    ...(vars.MLDB_USER !== undefined && { user: vars.MLDB_USER }),
    ...(vars.MLDB_PASSWORD !== undefined && { password: vars.MLDB_PASSWORD }),
    ...(vars.MLDB_DATABASE !== undefined && { database: vars.MLDB_DATABASE }),
  };
  return Object.keys(parts).length > 0 ? parts : undefined;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`invalid port "${text}"`, 'use a number from 1 to 65535');
  }
  return port;
}

/** Walks up from `start` to the first directory holding `.mldb/`; else `start` itself. */
export function findProjectDir(start: string): string {
  let dir = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(dir, '.mldb'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(start);
    dir = parent;
  }
}

export function readDotenv(cwd: string): Vars {
  const file = path.join(cwd, '.env');
  try {
    return parseDotenv(fs.readFileSync(file));
  } catch {
    return {};
  }
}

/**
 * Resolves the configuration once: flags > environment > .env > a running `mldb db start`
 * server > defaults. The result is frozen; its password is a Secret.
 */
export function resolveConfig(
  overrides: ConfigOverrides = {},
  env: Vars = process.env,
  cwd: string = process.cwd(),
): MldbConfig {
  const dotenv = readDotenv(cwd);
  const projectDir = findProjectDir(cwd);
  const flagParts: ConnectionParts | undefined = (() => {
    const fromUrl = overrides.url ? parseUrl(overrides.url) : {};
    const direct = Object.fromEntries(
      (['host', 'port', 'user', 'password', 'database'] as const)
        .filter((k) => overrides[k] !== undefined)
        .map((k) => [k, overrides[k]]),
    );
    const merged = { ...fromUrl, ...direct };
    return Object.keys(merged).length > 0 ? merged : undefined;
  })();

  const layers: Array<[ConfigSource, ConnectionParts | undefined]> = [
    ['flag', flagParts],
    ['env', partsFromVars(env)],
    ['dotenv', partsFromVars(dotenv)],
  ];
  const configured = layers.filter(([, p]) => p !== undefined) as Array<[ConfigSource, ConnectionParts]>;

  let base: ConnectionParts = DEFAULTS;
  let source: ConfigSource = 'default';
  if (configured.length > 0) {
    source = configured[0][0];
  } else {
    const server = readServerState(projectDir);
    if (server) {
      base = { ...DEFAULTS, host: server.host, port: server.port, user: server.user };
      source = 'local-server';
    }
  }
  // Lower layers first so that higher ones overwrite field by field.
  const merged: ConnectionParts = { ...base };
  for (const [, parts] of [...configured].reverse()) Object.assign(merged, stripUndefined(parts));

  const table = overrides.table ?? env.MLDB_TABLE ?? dotenv.MLDB_TABLE ?? DEFAULT_TABLE;
  return Object.freeze({
    host: merged.host ?? DEFAULTS.host,
    port: merged.port ?? DEFAULTS.port,
    user: merged.user ?? DEFAULTS.user,
    password: new Secret(merged.password ?? ''),
    database: merged.database ?? DEFAULTS.database,
    table,
    source,
    projectDir,
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** user@host:port/database — what error messages and `db status` may show. */
/** The server as messages name it; the user name escaped, since a URL or variable may carry escapes. */
export function describeTarget(c: MldbConfig): string {
  return printable(`${c.user}@${c.host}:${c.port}/${c.database}`);
}

/** Reads one setting with the same precedence as the connection (env > .env). */
export function setting(name: string, env: Vars = process.env, cwd = process.cwd()): string | undefined {
  return env[name] ?? readDotenv(cwd)[name];
}

/** How long a statement may wait on a backend before it fails, unless MLDB_BACKEND_TIMEOUT says. */
export const DEFAULT_BACKEND_TIMEOUT_SECONDS = 60;

/**
 * MLDB_BACKEND_TIMEOUT: seconds a statement waits on a shard's backend (directly, or through the
 * head's Spider sessions) before it fails as if the backend were down; every other statement waits
 * this and a margin (db/bounded-statements.ts). A whole number, 1–3600.
 */
export function backendTimeoutSeconds(env: Vars = process.env, cwd = process.cwd()): number {
  const raw = setting('MLDB_BACKEND_TIMEOUT', env, cwd);
  if (raw === undefined || raw === '') return DEFAULT_BACKEND_TIMEOUT_SECONDS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 3600)
    throw new UsageError(`MLDB_BACKEND_TIMEOUT must be a whole number of seconds from 1 to 3600, got "${raw}"`);
  return n;
}

/** More threads than this would only queue behind each other: no machine mldb runs on has more cores. */
export const MAX_IMPORT_THREADS = 256;

/**
 * MLDB_IMPORT_THREADS: threads an import reads, hashes and decodes on, unless `--threads` says.
 * By default all cores but one, which the import's own thread keeps for deduplicating, batching
 * and writing; on a machine of fewer than 4 cores, one thread: measured on 2 cores with the server
 * beside it, a pool's messages cost what its second thread gains (docs/benchmarks.md).
 */
export function importThreads(env: Vars = process.env, cwd = process.cwd()): number {
  const raw = setting('MLDB_IMPORT_THREADS', env, cwd);
  if (raw === undefined || raw === '') {
    const cores = os.availableParallelism();
    return cores >= 4 ? cores - 1 : 1;
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_IMPORT_THREADS)
    throw new UsageError(`MLDB_IMPORT_THREADS must be a whole number from 1 to ${MAX_IMPORT_THREADS}, got "${raw}"`);
  return n;
}

/** The onnxruntime training engine's switches, for measuring it (docs/training-engines.md). */
export interface OnnxEngineSettings {
  /** false: no channel-blocked (NCHWc) convolutions. */
  readonly blocked: boolean;
  /** false: its threads sleep between ops; true or unset: they spin (its default). */
  readonly spinning?: boolean;
}

/**
 * MLDB_ONNX_NCHWC=0 turns the channel-blocked convolutions off; MLDB_ONNX_SPINNING=0 makes its
 * threads sleep between ops, =1 spin (its default). Read from the environment only, not .env.
 */
export function onnxEngineSettings(env: Vars = process.env): OnnxEngineSettings {
  const spin = env.MLDB_ONNX_SPINNING;
  return { blocked: env.MLDB_ONNX_NCHWC !== '0', spinning: spin === undefined ? undefined : spin === '1' };
}

/**
 * The environment's settings for what a command runs, besides the connection (resolveConfig) and
 * the import and statement limits below: read here once per command (CommandContext.settings,
 * MlDb.settings) and handed down as values, so that no module under commands/ reads a variable.
 * Sizes and counts stay as written: the command parses them beside its flag, and an error names
 * whichever of the two was wrong.
 */
export interface Settings {
  /** MLDB_TABLE as given: `evaluate` falls back to the model's own table, not to the default one. */
  readonly table?: string;
  /** MLDB_MEMORY_BUDGET: a size, what --memory-budget is when not given. */
  readonly memoryBudget?: string;
  /** MLDB_READ_PARALLELISM: a count, what --read-parallelism is when not given. */
  readonly readParallelism?: string;
  /** The bearer tokens of `serve` and `ui`, when set; Secrets, so that printing settings shows none. */
  readonly tokens: Readonly<Record<TokenVariable, Secret | undefined>>;
  readonly onnx: OnnxEngineSettings;
}

export type TokenVariable = 'MLDB_SERVE_TOKEN' | 'MLDB_UI_TOKEN';

export function readSettings(env: Vars = process.env, cwd = process.cwd()): Settings {
  const dotenv = readDotenv(cwd);
  const read = (name: string) => env[name] ?? dotenv[name];
  const secret = (name: TokenVariable) => {
    const value = read(name);
    return value === undefined ? undefined : new Secret(value);
  };
  return Object.freeze({
    table: read('MLDB_TABLE'),
    memoryBudget: read('MLDB_MEMORY_BUDGET'),
    readParallelism: read('MLDB_READ_PARALLELISM'),
    tokens: Object.freeze({ MLDB_SERVE_TOKEN: secret('MLDB_SERVE_TOKEN'), MLDB_UI_TOKEN: secret('MLDB_UI_TOKEN') }),
    onnx: Object.freeze(onnxEngineSettings(env)),
  });
}
