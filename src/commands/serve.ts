import type { EngineChoice } from '../ml/engine-names';
import os from 'node:os';
import { EXIT, UsageError } from '../errors';
import { modelIdentity } from '../serve/predictor';
import type { ShutdownSummary } from '../serve/service';
import { parseBytes } from '../samples/memory-budget';
import { watchInterrupts } from '../ui/interrupt';
import type { Output } from '../ui/output';
import { formatCount, shortPath } from '../ui/terminal';
import type { CommandContext } from './context';
import { parseNumber, parsePositiveInt } from './options';
import { httpToken, listenError, LOOPBACK } from './shared/http-server';

export interface ServeFlags {
  model?: string;
  engine?: string;
  host?: string;
  port?: string;
  token?: string;
  tokenFile?: string;
  top?: string;
  backend?: string;
  logInputs?: boolean;
  ui?: boolean;
  maxLoggedInput?: string;
  maxBody?: string;
  maxFiles?: string;
  maxMegapixels?: string;
  maxBatch?: string;
  batchWindow?: string;
  queue?: string;
  drainTimeout?: string;
  workers?: string;
}

export interface ServeResult extends ShutdownSummary {
  model: string;
  url: string;
}

/**
 * `mldb serve`: the prediction service, until SIGTERM or Ctrl-C. Then it stops taking requests,
 * answers those in flight and writes the queued log rows before it exits.
 */
export async function run(ctx: CommandContext, flags: ServeFlags): Promise<ServeResult> {
  if (!flags.model)
    throw new UsageError('--model is required', 'pass a model folder, run:ID or a stored model name (`mldb models`)');
  const host = flags.host ?? '127.0.0.1';
  const port = parsePositiveInt('--port', flags.port ?? '8080', { min: 0, max: 65535 })!;
  const token = httpToken(ctx.out, flags, 'MLDB_SERVE_TOKEN', ctx.settings().tokens);
  const options = {
    host,
    port,
    token: token || undefined,
    top: parsePositiveInt('--top', flags.top ?? '3', { min: 1, max: 1000 })!,
    maxPixels: parseNumber('--max-megapixels', flags.maxMegapixels ?? '25', { min: 0.001, max: 10_000 })! * 1e6,
    logInputs: Boolean(flags.logInputs),
    dashboard: Boolean(flags.ui),
    maxLoggedInputBytes: parseBytes('--max-logged-input', flags.maxLoggedInput ?? '1M'),
    maxBodyBytes: parseBytes('--max-body', flags.maxBody ?? '8M'),
    maxFiles: parsePositiveInt('--max-files', flags.maxFiles ?? '64', { min: 1, max: 10_000 })!,
    maxBatch: parsePositiveInt('--max-batch', flags.maxBatch ?? '64', { min: 1, max: 4096 })!,
    batchWindowMs: parseNumber('--batch-window', flags.batchWindow ?? '0', { min: 0, max: 1000 })!,
    maxQueueRows: parsePositiveInt('--queue', flags.queue ?? '10000', { min: 1, max: 10_000_000 })!,
    maxQueueBytes: 256 * 1024 * 1024,
    workers:
      flags.workers === undefined || flags.workers === 'auto'
        ? os.availableParallelism()
        : parsePositiveInt('--workers', flags.workers, { min: 0, max: 256 })!,
    engine: (flags.engine ?? 'auto') as EngineChoice,
    note: (line: string) => ctx.out.note(line),
  };
  const drainTimeoutMs = parseNumber('--drain-timeout', flags.drainTimeout ?? '10', { min: 0, max: 3600 })! * 1000;

  const mldb = ctx.mldb();
  const { selectBackend } = await import('../ml/backend.js');
  await selectBackend((flags.backend ?? 'auto') as never);
  const saved = await mldb.openModel(flags.model);
  const identity = modelIdentity(saved, shortPath(saved.dir));

  const { startService } = await import('../serve/service.js');
  let service;
  try {
    service = await startService(saved, identity, () => mldb.connection(), options);
  } catch (e) {
    saved.model.dispose();
    throw listenError(e, host, port);
  }
  const stopped = new Promise<void>((resolve) => {
    // The drain has its own deadline; the grace after it only ends a stop that hangs elsewhere.
    const interrupts = watchInterrupts(
      () => {
        interrupts.dispose();
        resolve();
      },
      { graceMs: drainTimeoutMs + 15_000 },
    );
  });
  ctx.out.note(
    `mldb serve: ${identity.name} (${saved.metadata.architecture}, ${saved.metadata.inputShape.join('x')}, ` +
      `${saved.metadata.labels.length} labels) listening on ${service.url}`,
  );
  ctx.out.note(`  engine: ${service.predictor.engineName}`);
  if (options.dashboard) ctx.out.note(`  dashboard ${service.url}/ui/`);
  ctx.out.note(
    `  page ${service.url}/ · POST ${service.url}/v1/predict · ${service.url}/metrics · ` +
      `${options.token ? 'token required (Authorization: Bearer)' : 'no token'} · Ctrl-C stops`,
  );
  if (!LOOPBACK.has(host) && !options.token) {
    ctx.out.note(
      `mldb serve: warning: listening on ${host} without authentication: anyone who reaches this machine can ` +
        'use the service; set --token or MLDB_SERVE_TOKEN',
    );
  }
  await stopped;
  ctx.out.note('mldb serve: stopping: answering requests in flight, writing the prediction log…');
  const summary = await service.stop(drainTimeoutMs);
  saved.model.dispose();
  return { model: identity.name, url: service.url, ...summary };
}

export function print(r: ServeResult, out: Output): void {
  out.line(
    `served ${formatCount(r.predictions)} prediction(s) with ${r.model}; log: ${formatCount(r.log.written)} written` +
      `${r.log.dropped ? `, ${formatCount(r.log.dropped)} dropped (queue full)` : ''}` +
      `${r.unwritten ? `, ${formatCount(r.unwritten)} NOT written (database unreachable)` : ''}`,
  );
}

/** Log rows that could not be written or were dropped make the exit code say so. */
export function exitCode(r: ServeResult): number {
  return r.unwritten > 0 || r.log.dropped > 0 ? EXIT.DATABASE : EXIT.OK;
}
