import path from 'node:path';
import { UsageError } from '../errors';
import type { Output } from '../ui/output';
import { formatCount, formatDuration } from '../ui/terminal';
import type { CommandContext } from './context';
import { parseNumber, parsePositiveInt } from './options';

export interface TrainFlags {
  model?: string;
  optimizer?: string;
  learningRate?: string;
  epochs?: string;
  batchSize?: string;
  validationSplit?: string;
  seed?: string;
  patience?: string;
  save?: string;
  backend?: string;
}

export interface TrainSummary {
  table: string;
  model: string;
  backend: string;
  savedTo: string;
  labels: string[];
  epochs: Array<{ epoch: number; loss: number; accuracy: number; valLoss: number | null; valAccuracy: number | null; seconds: number; samplesPerSecond: number }>;
  stoppedEarly: boolean;
  split: { train: number; validation: number };
  fingerprint: { rows: number; sha256: string };
  hyperparameters: Record<string, unknown>;
}

export async function run(ctx: CommandContext, flags: TrainFlags): Promise<TrainSummary> {
  if (!flags.model) throw new UsageError('--model is required', 'list the choices with `mldb models`');
  const table = ctx.config().table;
  // TensorFlow is loaded only here, never by the dataset commands.
  const { trainModel } = await import('../ml/train.js');
  const { saveModel } = await import('../ml/artifacts.js');
  const db = await ctx.mldb().connection();
  const result = await trainModel(db, {
    table,
    model: flags.model,
    optimizer: flags.optimizer as never,
    learningRate: parseNumber('--learning-rate', flags.learningRate, { min: 0 }),
    epochs: parsePositiveInt('--epochs', flags.epochs),
    batchSize: parsePositiveInt('--batch-size', flags.batchSize),
    validationSplit: parseNumber('--validation-split', flags.validationSplit, { min: 0, max: 0.99 }),
    seed: parsePositiveInt('--seed', flags.seed, { min: 0 }),
    patience: parsePositiveInt('--patience', flags.patience, { min: 0 }),
    backend: (flags.backend ?? 'auto') as never,
    onBackend: (name, reason) => ctx.out.note(`backend: ${name} (${reason})`),
    onEpoch: (e) => {
      if (ctx.out.json) return;
      ctx.out.note(
        `epoch ${e.epoch}: loss ${e.loss.toFixed(4)} accuracy ${e.accuracy.toFixed(4)}` +
          (e.valLoss !== null ? ` val_loss ${e.valLoss.toFixed(4)} val_accuracy ${e.valAccuracy!.toFixed(4)}` : '') +
          ` · ${formatCount(e.samplesPerSecond)} samples/s · ${formatDuration(e.seconds)}`,
      );
    },
  });
  const dir = flags.save ?? path.join('models', `${table}-${result.model.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const last = result.epochs[result.epochs.length - 1];
  const savedTo = await saveModel(result.model, dir, {
    labels: result.labels,
    inputShape: result.inputShape,
    preprocessing: { scale: 1 / 255, channels: result.inputShape[2], resize: 'fill' },
    dataset: { table, fingerprint: result.fingerprint },
    architecture: flags.model.toLowerCase(),
    hyperparameters: result.hyperparameters,
    metrics: last,
    backend: result.backend,
    versions: { mldb: require('../../package.json').version, tfjs: (await import('../ml/tf.js')).tf.version.tfjs },
    createdAt: new Date().toISOString(),
  });
  result.model.dispose();
  return {
    table,
    model: flags.model.toLowerCase(),
    backend: result.backend,
    savedTo,
    labels: result.labels,
    epochs: result.epochs,
    stoppedEarly: result.stoppedEarly,
    split: result.split,
    fingerprint: result.fingerprint,
    hyperparameters: result.hyperparameters,
  };
}

export function print(s: TrainSummary, out: Output): void {
  const last = s.epochs[s.epochs.length - 1];
  out.line(`trained ${s.model} on ${s.table} (${s.split.train} train / ${s.split.validation} validation rows, ${s.epochs.length} epochs${s.stoppedEarly ? ', stopped early' : ''}, ${s.backend})`);
  out.line(`final: loss ${last.loss.toFixed(4)} accuracy ${last.accuracy.toFixed(4)}${last.valAccuracy !== null ? ` val_accuracy ${last.valAccuracy.toFixed(4)}` : ''}`);
  out.line(`saved to ${s.savedTo}`);
}
