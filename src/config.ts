import fs from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { UsageError } from './errors';
import { Secret } from './secret';
import { readServerState } from './db/server-state';

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
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    host: u.hostname || undefined,
    port: u.port ? Number(u.port) : undefined,
    user: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: db || undefined,
  };
}

/** A URL safe to print: the password replaced by ***. */
export function maskUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
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
export function describeTarget(c: MldbConfig): string {
  return `${c.user}@${c.host}:${c.port}/${c.database}`;
}

/** Reads one setting with the same precedence as the connection (env > .env). */
export function setting(name: string, env: Vars = process.env, cwd = process.cwd()): string | undefined {
  return env[name] ?? readDotenv(cwd)[name];
}
