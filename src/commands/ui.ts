import { resolveReadParallelism } from '../samples/bulk-read';
import { resolveMemoryBudget } from '../samples/memory-budget';
import { watchInterrupts } from '../ui/interrupt';
import type { Output } from '../ui/output';
import type { CommandContext } from './context';
import { parsePositiveInt } from './options';
import { httpToken, listenError, LOOPBACK } from './shared/http-server';

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
  const token = httpToken(ctx.out, flags, 'MLDB_UI_TOKEN', ctx.settings().tokens);
  const mldb = ctx.mldb();
  // Reach the database first: a dashboard that cannot read anything should say so and stop.
  await mldb.connection();
  const { startDashboard } = await import('../dashboard/server.js');
  let server;
  try {
    server = await startDashboard({
      host,
      port,
      token,
      connect: () => mldb.connection(),
      // The model runs in this process, within the memory budget `mldb suspects` would take.
      suspects: (table, model, limit) =>
        mldb.suspects(model, {
          table,
          limit,
          memoryBudget: resolveMemoryBudget(undefined, ctx.settings().memoryBudget),
          readParallelism: resolveReadParallelism(undefined, ctx.settings().readParallelism),
        }),
    });
  } catch (e) {
    throw listenError(e, host, port);
  }
  ctx.out.note(
    `mldb ui: the dashboard of ${mldb.config.database} listening on ${server.url}/ · ` +
      `${token ? 'token required (Authorization: Bearer); corrections and row edits allowed' : 'read-only, no token'}` +
      ' · Ctrl-C stops',
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
