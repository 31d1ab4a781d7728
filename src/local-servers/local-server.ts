import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DatabaseError, NotFoundError, UsageError } from '../errors';
import type { ServerState } from '../server-state';

/**
 * Runs a private MySQL-compatible server from the mysqld/mariadbd binary on this machine:
 * loopback only, its own data directory, no password (MariaDB: grant tables skipped; MySQL:
 * --initialize-insecure). It is for development and tests, never for shared data.
 */

const BINARY_NAMES = ['mariadbd', 'mysqld'];
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/libexec', '/usr/local/mysql/bin', '/opt/homebrew/bin'];
export const INSTALL_HINT =
  'install a server (Debian/Ubuntu: apt-get install mariadb-server-core; macOS: brew install mariadb), or set MLDB_URL';

export function findServerBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const name of BINARY_NAMES) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      } catch {
        /* keep looking */
      }
    }
  }
  return undefined;
}

export function requireServerBinary(): string {
  const bin = findServerBinary();
  if (!bin) throw new NotFoundError('no MySQL or MariaDB server binary (mariadbd/mysqld) found', INSTALL_HINT);
  return bin;
}

export function serverVersion(binary: string): string {
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return (out.stdout || out.stderr || '').trim();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface StartOptions {
  binary?: string;
  dataDir: string;
  port?: number;
  /** Keep running after this process exits (for `mldb db start`). */
  detached?: boolean;
  maxAllowedPacket?: string;
  /**
   * MariaDB only: a server with real accounts and privileges (mariadb-install-db, root without a
   * password on loopback) instead of --skip-grant-tables, where every user may do everything.
   * What a test of GRANTs needs; `mldb db start` keeps the simpler default.
   */
  grantTables?: boolean;
  /**
   * MariaDB only: a Spider head (the engine that shards a table over other servers). It gets the
   * system tables (CREATE SERVER writes mysql.servers) and spider_auto_increment_mode=1: ids come
   * from the head, unique over every shard (mode 0 deadlocks concurrent writers across servers).
   */
  spiderHead?: boolean;
}

export interface RunningServer extends Omit<ServerState, 'startedAt'> {
  process: ChildProcess;
}

/** Unix sockets are limited to ~107 bytes, so the socket lives in tmpdir under a short hash. */
export function socketPath(dataDir: string): string {
  const h = crypto.createHash('sha1').update(path.resolve(dataDir)).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `mldb-${h}.sock`);
}

function initializeMysql(binary: string, dataDir: string): void {
  const isEmpty = fs.readdirSync(dataDir).filter((f) => f !== 'server.log').length === 0;
  if (!isEmpty) return;
  const args = ['--no-defaults', '--initialize-insecure', `--datadir=${dataDir}`];
  if (process.getuid?.() === 0) args.push('--user=root');
  const r = spawnSync(binary, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new DatabaseError(
      `could not initialize a MySQL data directory in ${dataDir}`,
      (r.stderr || '').trim().split('\n').pop(),
    );
  }
}

export const SPIDER_HINT = 'install it (Debian/Ubuntu: apt-get install mariadb-plugin-spider)';

/**
 * The Spider plugin of this server, when it has one: in the plugin-dir that
 * `mariadbd --verbose --help` prints, or in the usual folders when it prints none.
 */
export function spiderPlugin(binary: string): string | undefined {
  const out = spawnSync(binary, ['--no-defaults', '--verbose', '--help'], { encoding: 'utf8' }).stdout ?? '';
  const dir = /^plugin-dir\s+(\S+)/m.exec(out)?.[1];
  const candidates = dir ? [dir] : ['/usr/lib/mysql/plugin', '/usr/lib64/mysql/plugin', '/usr/local/mysql/lib/plugin'];
  return candidates.map((d) => path.join(d, 'ha_spider.so')).find((f) => fs.existsSync(f));
}

/** The system tables (accounts, privileges) of a new MariaDB data folder; nothing when it has them. */
function installMariaDbGrantTables(binary: string, dataDir: string): void {
  if (fs.existsSync(path.join(dataDir, 'mysql', 'global_priv.frm'))) return;
  const installer = ['mariadb-install-db', 'mysql_install_db']
    .flatMap((name) => [path.join(path.dirname(binary), name), path.join(path.dirname(binary), '..', 'bin', name)])
    .find((candidate) => fs.existsSync(candidate));
  if (!installer) throw new NotFoundError('mariadb-install-db was not found beside the server binary', INSTALL_HINT);
  const args = ['--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db'];
  if (process.getuid?.() === 0) args.push('--user=root');
  const r = spawnSync(installer, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new DatabaseError(
      `could not initialize the MariaDB system tables in ${dataDir}`,
      (r.stderr || r.stdout || '').trim().split('\n').pop(),
    );
  }
}

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const binary = opts.binary ?? requireServerBinary();
  const version = serverVersion(binary);
  const isMariaDb = /mariadb/i.test(version);
  fs.mkdirSync(opts.dataDir, { recursive: true });
  if (!isMariaDb) initializeMysql(binary, opts.dataDir);
  else if (opts.grantTables || opts.spiderHead) installMariaDbGrantTables(binary, opts.dataDir);
  if (opts.spiderHead && !isMariaDb)
    throw new UsageError('sharding needs MariaDB (its Spider engine); this server is MySQL', SPIDER_HINT);
  if (opts.spiderHead && !spiderPlugin(binary))
    throw new NotFoundError('the MariaDB Spider plugin (ha_spider.so) is not installed', SPIDER_HINT);
  const port = opts.port ?? (await freePort());
  const logFile = path.join(opts.dataDir, 'server.log');
  const args = [
    '--no-defaults',
    `--datadir=${opts.dataDir}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${socketPath(opts.dataDir)}`,
    `--pid-file=${path.join(opts.dataDir, 'server.pid')}`,
    `--log-error=${logFile}`,
    `--max-allowed-packet=${opts.maxAllowedPacket ?? '64M'}`,
    // A development server: losing the last second of commits on a power cut is acceptable.
    '--innodb-flush-log-at-trx-commit=2',
    '--skip-name-resolve',
    '--character-set-server=utf8mb4',
  ];
  if (isMariaDb && !opts.grantTables) args.push('--skip-grant-tables');
  if (opts.spiderHead) args.push('--plugin-load-add=ha_spider.so', '--spider-auto-increment-mode=1');
  if (process.getuid?.() === 0) args.push('--user=root');

  const child = spawn(binary, args, {
    detached: opts.detached ?? false,
    stdio: 'ignore',
  });
  if (opts.detached) child.unref();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('error', () => undefined);

  const ready = await waitForPort(port, 30_000, exited);
  if (!ready) {
    child.kill('SIGKILL');
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
    throw new DatabaseError(`the local server (${path.basename(binary)}) did not start`, log || `see ${logFile}`);
  }
  return {
    pid: child.pid!,
    host: '127.0.0.1',
    port,
    user: 'root',
    binary,
    version,
    dataDir: opts.dataDir,
    process: child,
  };
}

/** Polls until the server accepts a MySQL handshake, or it exits, or time runs out. */
async function waitForPort(port: number, timeoutMs: number, exited: Promise<number | null>): Promise<boolean> {
  let dead = false;
  void exited.then(() => (dead = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !dead) {
    if (await handshakes(port)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function handshakes(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('data', () => done(true));
    sock.once('error', () => done(false));
    sock.setTimeout(1000, () => done(false));
  });
}

/**
 * Stops a server by pid and waits (up to 30 s) for it to finish writing. `stillOurs` is asked
 * before each signal: a server started by another process is known by its pid alone, and that
 * number may belong to something else by the time a signal would be sent.
 */
export async function stopServer(pid: number, stillOurs: () => boolean = () => true): Promise<void> {
  if (!stillOurs()) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!stillOurs()) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
