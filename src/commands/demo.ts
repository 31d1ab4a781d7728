import path from 'node:path';
import { resolveConfig } from '../config';
import type { ImportSummary } from '../ingest/import-pipeline';
import type { DatasetDetails } from '../db/registry';
import { openDb } from '../db/pool';
import { readServerState } from '../server-state';
import { MlDb } from '../mldb';
import type { Output } from '../ui/output';
import { shortPath } from '../ui/terminal';
import type { CommandContext } from './context';
import * as db from './db';
import * as importCmd from './import';
import * as show from './show';
import * as train from './train';
import type { TrainReport } from '../ml/training-run';

/** The sample dataset shipped with mldb: 28×28 MNIST digits, one folder per label. */
export const SAMPLE_DIR = path.resolve(__dirname, '..', '..', 'datasets', 'digits');
export const DEMO_TABLE = 'demo_digits';
/**
 * simple_cnn on 489 training images, in small batches (31 updates an epoch): 12 epochs take about
 * 15 s on 2 cores with onnxruntime, two minutes with wasm.
 */
export const DEMO_TRAINING = { model: 'simple_cnn', epochs: '12', batchSize: '16', seed: '1' };

export interface DemoResult {
  server: string;
  import: ImportSummary;
  details: DatasetDetails;
  training: TrainReport | null;
}

export interface DemoFlags {
  train?: boolean;
}

/**
 * The two-command quick start: make sure a server answers (the configured one, else a local
 * one started here), import the shipped sample into `demo_digits`, and show it.
 */
export async function run(ctx: CommandContext, flags: DemoFlags = {}): Promise<DemoResult> {
  let config = ctx.config();
  let server = `${config.host}:${config.port} (${config.source})`;
  if (config.source === 'default' && !readServerState(config.projectDir)) {
    const reachable = await openDb(config).then(
      (d) => d.close().then(() => true),
      () => false,
    );
    if (!reachable) {
      ctx.out.note('no database configured or answering: starting a local one (mldb db start)');
      const started = await db.start(ctx);
      config = resolveConfig({ table: DEMO_TABLE });
      server = `local ${path.basename(started.server.binary)} on ${started.server.host}:${started.server.port}`;
    }
  }
  const mldb = new MlDb({ config: { ...config, table: DEMO_TABLE } });
  try {
    const innerCtx: CommandContext = { ...ctx, config: () => mldb.config, mldb: () => mldb };
    const summary = await importCmd.importOnce(innerCtx, SAMPLE_DIR, { table: DEMO_TABLE, create: true });
    const details = await mldb.describe(DEMO_TABLE);
    let training: TrainReport | null = null;
    if (flags.train !== false) {
      ctx.out.note(
        `training ${DEMO_TRAINING.model} for ${DEMO_TRAINING.epochs} epochs on ${DEMO_TABLE} (about 15 s on 2 ` +
          `cores with onnxruntime, two minutes with wasm)`,
      );
      training = await train.run(innerCtx, {
        ...DEMO_TRAINING,
        save: path.join('models', `${DEMO_TABLE}-${DEMO_TRAINING.model}`),
      });
    }
    return { server, import: summary, details, training };
  } finally {
    await mldb.close();
  }
}

export function print(r: DemoResult, out: Output): void {
  out.line(`database: ${r.server}`);
  importCmd.print(r.import, out);
  out.line();
  show.print(r.details, out);
  out.line();
  if (r.training) {
    train.print(r.training, out);
    out.line();
    const seven = path.join(path.relative(process.cwd(), SAMPLE_DIR) || '.', '7', 'mnist-7-0000.png');
    out.line(`try: mldb predict --model ${shortPath(r.training.savedTo!)} ${seven}`);
  }
  out.line(`try: mldb rows ${DEMO_TABLE} --label 7 --limit 5`);
  out.line('look at it all: mldb ui (a dashboard at http://127.0.0.1:8090/)');
}
