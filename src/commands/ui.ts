import { UsageError } from '../errors';
import { watchInterrupts } from '../ui/interrupt';
import type { Output } from '../ui/output';
import type { CommandContext } from './context';
import { parsePositiveInt } from './options';
import { httpToken, LOOPBACK } from './shared/http-token';

export interface UiFlags {
  host?: string;
  port?: string;
  token?: string;
  tokenFile?: string;
}

export interface UiResult {
  url: string;
}

/** `mldb ui`: the dashboard over the configured database, until SIGTERM or Ctrl-C. */
export async function run(ctx: CommandContext, flags: UiFlags): Promise<UiResult> {
  const host = flags.host ?? '127.0.0.1';
  const port = parsePositiveInt('--port', flags.port ?? '8090', { min: 0, max: 65535 })!;
  const token = httpToken(ctx.out, flags, 'MLDB_UI_TOKEN');
  const mldb = ctx.mldb();
  // Reach the database first: a dashboard that cannot read anything should say so and stop.
  await mldb.connection();
  const { startDashboard } = await import('../dashboard/server.js');
  let server;
  try {
    server = await startDashboard({ host, port, token, connect: () => mldb.connection() });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new UsageError(`port ${port} on ${host} is in use`, 'pass another --port (0 picks a free one)');
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new UsageError(`cannot listen on ${host}: no such local address`, 'use --host 127.0.0.1 or 0.0.0.0');
    throw e;
  }
  ctx.out.note(
    `mldb ui: the dashboard of ${mldb.config.database} listening on ${server.url}/ · ` +
      `${token ? 'token required (Authorization: Bearer); corrections allowed' : 'read-only, no token'} · Ctrl-C stops`,
  );
  if (!LOOPBACK.has(host) && !token)
    ctx.out.note(
      `mldb ui: warning: listening on ${host} without authentication: anyone who reaches this machine can read ` +
        'every dataset, run and prediction; set --token-file or MLDB_UI_TOKEN',
    );
  await new Promise<void>((resolve) => {
    const interrupts = watchInterrupts(() => {
      interrupts.dispose();
      resolve();
    });
  });
  await server.app.close();
  return { url: server.url };
}

export function print(r: UiResult, out: Output): void {
  out.line(`mldb ui: stopped (${r.url})`);
}
