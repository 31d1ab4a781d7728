import crypto from 'node:crypto';
import { compareLabels, getDataset, requireShape, type ImageShape } from '../db/datasets';
import type { Db } from '../db/pool';
import { readPixelMatrix, type PixelMatrix } from '../data/read-pixels';
import { InvalidDataError, UsageError } from '../errors';
import { getArchitecture } from './architectures/registry';
import { selectBackend, type BackendChoice } from './backend';
import { mulberry32, seededPermutation } from './seeded';
import { tf } from './tf';

export const OPTIMIZERS = ['sgd', 'momentum', 'rmsprop', 'adagrad', 'adadelta', 'adam', 'adamax'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export interface TrainOptions {
  table: string;
  model: string;
  optimizer?: OptimizerName;
  learningRate?: number;
  epochs?: number;
  batchSize?: number;
  validationSplit?: number;
  seed?: number;
  patience?: number;
  backend?: BackendChoice;
  onEpoch?: (e: EpochMetrics) => void;
  onBackend?: (name: string, reason: string) => void;
}

export interface EpochMetrics {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  seconds: number;
  samplesPerSecond: number;
}

export interface TrainResult {
  model: tf.LayersModel;
  labels: string[];
  inputShape: [number, number, number];
  epochs: EpochMetrics[];
  stoppedEarly: boolean;
  backend: string;
  fingerprint: { rows: number; sha256: string };
  split: { train: number; validation: number };
  hyperparameters: Required<Omit<TrainOptions, 'onEpoch' | 'onBackend' | 'table' | 'model' | 'backend'>>;
}

function makeOptimizer(name: OptimizerName, lr: number): tf.Optimizer {
  switch (name) {
    case 'sgd': return tf.train.sgd(lr);
    case 'momentum': return tf.train.momentum(lr, 0.9);
    case 'rmsprop': return tf.train.rmsprop(lr);
    case 'adagrad': return tf.train.adagrad(lr);
    case 'adadelta': return tf.train.adadelta(lr);
    case 'adam': return tf.train.adam(lr);
    case 'adamax': return tf.train.adamax(lr);
    default: throw new UsageError(`unknown optimizer "${name}"`, `use one of ${OPTIMIZERS.join(', ')}`);
  }
}

/** Labels in class-index order: every label of the table, numbers sorted as numbers. */
export async function tableLabels(db: Db, table: string): Promise<string[]> {
  const rows = await db.query<{ label: string }>(`SELECT DISTINCT label FROM \`${table}\``);
  return rows.map((r) => r.label).sort(compareLabels);
}

/** The fingerprint of exactly the rows used: count and a hash over ids and content hashes. */
export function fingerprint(m: PixelMatrix): { rows: number; sha256: string } {
  const h = crypto.createHash('sha256');
  for (let i = 0; i < m.count; i++) {
    h.update(String(m.ids[i]));
    h.update(m.hashes[i]);
  }
  return { rows: m.count, sha256: h.digest('hex') };
}

function batchTensors(m: PixelMatrix, idx: ArrayLike<number>, from: number, to: number, shape: ImageShape, classIndex: Map<string, number>, numClasses: number) {
  const per = shape.height * shape.width * shape.channels;
  const n = to - from;
  const xs = new Float32Array(n * per);
  const ys = new Float32Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const r = idx[from + i];
    xs.set(m.xs.subarray(r * per, (r + 1) * per), i * per);
    ys[i * numClasses + classIndex.get(m.labels[r])!] = 1;
  }
  return {
    x: tf.tensor4d(xs, [n, shape.height, shape.width, shape.channels]),
    y: tf.tensor2d(ys, [n, numClasses]),
  };
}

/** Loss and accuracy over rows `idx`, in batches, leaking nothing. */
export function evaluateRows(model: tf.LayersModel, m: PixelMatrix, idx: ArrayLike<number>, shape: ImageShape, classIndex: Map<string, number>, numClasses: number, batchSize: number): { loss: number; accuracy: number } {
  let loss = 0;
  let correct = 0;
  for (let from = 0; from < idx.length; from += batchSize) {
    const to = Math.min(idx.length, from + batchSize);
    const { x, y } = batchTensors(m, idx, from, to, shape, classIndex, numClasses);
    const [l, c] = tf.tidy(() => {
      const p = model.predict(x) as tf.Tensor2D;
      const ce = tf.losses.softmaxCrossEntropy(y, tf.log(tf.clipByValue(p, 1e-7, 1)), undefined, undefined, tf.Reduction.SUM);
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(p, 1), tf.argMax(y, 1)), 'float32'));
      return [ce.dataSync()[0], hits.dataSync()[0]];
    });
    // softmaxCrossEntropy applies a softmax to logits; log-probabilities keep it exact.
    loss += l;
    correct += c;
    x.dispose();
    y.dispose();
  }
  return { loss: loss / Math.max(idx.length, 1), accuracy: correct / Math.max(idx.length, 1) };
}

/**
 * The original's ChoseModel, done properly: rows of the train split (never test) → a seeded
 * hold-out for validation → a named architecture trained with a seeded shuffle, early stopping
 * on val_loss, and no tensor leaked across epochs.
 */
export async function trainModel(db: Db, opts: TrainOptions): Promise<TrainResult> {
  const hp = {
    optimizer: opts.optimizer ?? 'adam',
    learningRate: opts.learningRate ?? 0.001,
    epochs: opts.epochs ?? 10,
    batchSize: opts.batchSize ?? 64,
    validationSplit: opts.validationSplit ?? 0.1,
    seed: opts.seed ?? 1,
    patience: opts.patience ?? 0,
  };
  const arch = getArchitecture(opts.model);
  if (!(OPTIMIZERS as readonly string[]).includes(hp.optimizer)) throw new UsageError(`unknown optimizer "${hp.optimizer}"`, `use one of ${OPTIMIZERS.join(', ')}`);
  if (!Number.isInteger(hp.batchSize) || hp.batchSize < 1) throw new UsageError(`--batch-size must be at least 1, got ${hp.batchSize}`);
  if (!(hp.validationSplit >= 0 && hp.validationSplit < 1)) throw new UsageError(`--validation-split must be at least 0 and below 1, got ${hp.validationSplit}`);
  const dataset = await getDataset(db, opts.table);
  const shape = requireShape(dataset);
  const labels = await tableLabels(db, opts.table);
  if (labels.length < 2) throw new InvalidDataError(`table "${opts.table}" has ${labels.length} label(s); training needs at least 2`, 'import images of at least two labels');
  const data = await readPixelMatrix(db, opts.table, shape, { split: 'train' });
  const nVal = Math.round(data.count * hp.validationSplit);
  const nTrain = data.count - nVal;
  if (nTrain < 1 || (hp.validationSplit > 0 && nVal < 1)) {
    throw new InvalidDataError(`table "${opts.table}" has ${data.count} training rows: too few for a validation split of ${hp.validationSplit}`, 'import more images, or lower --validation-split');
  }
  if (hp.batchSize > nTrain) throw new UsageError(`--batch-size ${hp.batchSize} is larger than the ${nTrain} training rows`, `use at most ${nTrain}`);

  const backend = await selectBackend(opts.backend ?? 'auto');
  opts.onBackend?.(backend.name, backend.reason);
  const random = mulberry32(hp.seed);
  const order = seededPermutation(data.count, random);
  const valIdx = order.subarray(0, nVal);
  const trainIdx = order.slice(nVal);
  const classIndex = new Map(labels.map((l, i) => [l, i]));
  const inputShape: [number, number, number] = [shape.height, shape.width, shape.channels];

  const model = arch.build(tf, { inputShape, numClasses: labels.length, seed: hp.seed });
  model.compile({ optimizer: makeOptimizer(hp.optimizer, hp.learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

  const epochs: EpochMetrics[] = [];
  let best = Infinity;
  let sinceBest = 0;
  let stoppedEarly = false;
  for (let epoch = 1; epoch <= hp.epochs; epoch++) {
    const started = performance.now();
    const perm = seededPermutation(trainIdx.length, random);
    let lossSum = 0;
    let accSum = 0;
    for (let from = 0; from < trainIdx.length; from += hp.batchSize) {
      const to = Math.min(trainIdx.length, from + hp.batchSize);
      const batchIdx = Array.from(perm.subarray(from, to), (p) => trainIdx[p]);
      const { x, y } = batchTensors(data, batchIdx, 0, batchIdx.length, shape, classIndex, labels.length);
      const [l, a] = (await model.trainOnBatch(x, y)) as number[];
      x.dispose();
      y.dispose();
      lossSum += l * batchIdx.length;
      accSum += a * batchIdx.length;
    }
    const val = nVal > 0 ? evaluateRows(model, data, valIdx, shape, classIndex, labels.length, 256) : null;
    const seconds = (performance.now() - started) / 1000;
    const metrics: EpochMetrics = {
      epoch,
      loss: lossSum / trainIdx.length,
      accuracy: accSum / trainIdx.length,
      valLoss: val?.loss ?? null,
      valAccuracy: val?.accuracy ?? null,
      seconds,
      samplesPerSecond: trainIdx.length / seconds,
    };
    epochs.push(metrics);
    opts.onEpoch?.(metrics);
    if (hp.patience > 0 && val) {
      if (val.loss < best - 1e-6) {
        best = val.loss;
        sinceBest = 0;
      } else if (++sinceBest >= hp.patience) {
        stoppedEarly = true;
        break;
      }
    }
  }
  return {
    model,
    labels,
    inputShape,
    epochs,
    stoppedEarly,
    backend: backend.name,
    fingerprint: fingerprint(data),
    split: { train: trainIdx.length, validation: nVal },
    hyperparameters: hp as TrainResult['hyperparameters'],
  };
}
