import { canonicalLabel } from '../labels';
import { defaultMemoryBudget } from '../samples/memory-budget';
import { openSampleSource, type SampleSource } from '../samples/sample-source';
import { getDataset, requireShape } from '../db/registry';
import type { Db } from '../db/db';
import type { Split } from '../db/schema';
import type { RowSubset } from '../db/row-selection';
import { InvalidDataError } from '../errors';
import type { SavedModel } from './artifacts';
import { classMetrics, emptyConfusion, macroAverage, type ClassMetrics } from './metrics';
import { tfjsEngine, type ModelEngine } from './inference-engine';
import type { tf } from './tf';

/**
 * Probabilities at or below this count as this, so one confident mistake does not make the loss
 * infinite (Keras' epsilon).
 */
const EPSILON = 1e-7;

export interface Evaluation {
  count: number;
  /** Mean categorical cross-entropy. */
  loss: number;
  accuracy: number;
  /** confusion[true][predicted], in class-index order. */
  confusion: number[][];
  /** Predicted class per evaluated position, in the order given. */
  predicted: Int32Array;
  /** The predicted class' probability per evaluated position. */
  confidence: Float32Array;
}

/**
 * Runs the model over `positions` of `source` batch by batch: loss, accuracy and the confusion
 * matrix, with no tensor outliving its batch. `classOf(position)` is the true class index.
 */
export async function evaluateSource(
  run: ModelEngine['run'],
  source: SampleSource,
  positions: ArrayLike<number>,
  classOf: (position: number) => number,
  numClasses: number,
  batchSize = 256,
): Promise<Evaluation> {
  const confusion = emptyConfusion(numClasses);
  const predicted = new Int32Array(positions.length);
  const confidence = new Float32Array(positions.length);
  let loss = 0;
  let correct = 0;
  let k = 0;
  for await (const batch of source.batches(positions, batchSize)) {
    const n = batch.positions.length;
    const probs = await run(batch.xs, n);
    for (let i = 0; i < n; i++, k++) {
      const row = probs.subarray(i * numClasses, (i + 1) * numClasses);
      let best = 0;
      for (let c = 1; c < numClasses; c++) if (row[c] > row[best]) best = c;
      const truth = classOf(batch.positions[i]);
      loss -= Math.log(Math.min(1, Math.max(EPSILON, row[truth])));
      if (best === truth) correct++;
      confusion[truth][best]++;
      predicted[k] = best;
      confidence[k] = row[best];
    }
  }
  const count = positions.length;
  return {
    count,
    loss: count ? loss / count : NaN,
    accuracy: count ? correct / count : NaN,
    confusion,
    predicted,
    confidence,
  };
}

/** A model with what evaluation needs to know about it. */
export interface Classifier {
  /** How reports name it: the model folder, or the architecture while it is still in memory. */
  name: string;
  model: tf.LayersModel;
  labels: string[];
  inputShape: [number, number, number];
  /** What runs it (default: TensorFlow.js on the selected backend). */
  engine?: ModelEngine;
}

export function classifierOf(saved: SavedModel, engine?: ModelEngine): Classifier {
  return {
    name: saved.dir,
    model: saved.model,
    labels: saved.metadata.labels,
    inputShape: saved.metadata.inputShape,
    engine,
  };
}

export interface EvaluationReport {
  model: string;
  /** What ran the forward passes: "onnxruntime 1.23.0 (cpu, 2 threads)", "tfjs (wasm)". */
  engine: string;
  table: string;
  split: Split;
  /** Rows evaluated. */
  count: number;
  /** Rows whose label the model was not trained on (left out). */
  skipped: number;
  loss: number;
  accuracy: number;
  labels: string[];
  classes: ClassMetrics[];
  macro: { precision: number; recall: number; f1: number };
  confusion: number[][];
  /** The misclassified rows, worst first (at most 100): for reports and for looking at data. */
  mistakes: Array<{ id: number; label: string; predicted: string; confidence: number }>;
}

/**
 * A saved model against the rows of one split of a table: the table must have the model's input
 * shape; rows of labels the model never saw are left out and counted.
 */
export async function evaluateClassifier(
  db: Db,
  classifier: Classifier,
  table: string,
  split: Split,
  { memoryBudget = defaultMemoryBudget(), readParallelism }: { memoryBudget?: number; readParallelism?: number } = {},
  /** Only rows with id ≤ maxId, of version asOf (a training run's row set); all current rows when absent. */
  rowSet: { maxId?: number; asOf?: number } = {},
  /** Only these labels and sources (a run trained on a subset is tested on the same subset). */
  subset: RowSubset = {},
): Promise<EvaluationReport> {
  const dataset = await getDataset(db, table);
  const shape = requireShape(dataset);
  const want = classifier.inputShape;
  if (shape.height !== want[0] || shape.width !== want[1] || shape.channels !== want[2]) {
    throw new InvalidDataError(
      `table "${table}" holds ${shape.height}×${shape.width}×${shape.channels} images but the model takes ` +
        `${want.join('×')}`,
      `evaluate on a table imported at that shape (mldb import DIR --create --size ${want[0]}x${want[1]} ` +
        `--channels ${want[2]})`,
    );
  }
  const labels = classifier.labels;
  const source = await openSampleSource(
    db,
    table,
    shape,
    { split, ...rowSet, ...subset },
    { memoryBudget, batchSize: 256, readParallelism },
  );
  if (source.index.count === 0) {
    throw new InvalidDataError(
      `table "${table}" has no rows in the ${split} split`,
      split === 'test' ? 'import with --test-fraction above 0, or choose another --split' : 'choose another --split',
    );
  }
  const classIndex = new Map(labels.map((l, i) => [l, i]));
  // Rows stored before labels had one spelling (`seven `) count as the class they name.
  const classOf = (p: number) => classIndex.get(canonicalLabel(source.index.labels[p]));
  const positions = [...source.index.labels.keys()].filter((p) => classOf(p) !== undefined);
  if (positions.length === 0) {
    throw new InvalidDataError(
      `none of the ${split} rows of "${table}" has a label the model knows ` +
        `(${labels.slice(0, 5).join(', ')}${labels.length > 5 ? ', …' : ''})`,
      'evaluate on the table the model was trained on',
    );
  }
  const engine = classifier.engine ?? tfjsEngine(classifier.model);
  const e = await evaluateSource(engine.run, source, positions, (p) => classOf(p)!, labels.length);
  const classes = classMetrics(e.confusion, labels);
  const mistakes = positions
    .map((p, k) => ({
      id: source.index.ids[p],
      label: source.index.labels[p],
      predicted: labels[e.predicted[k]],
      confidence: e.confidence[k],
    }))
    .filter((m) => m.label !== m.predicted)
    .sort((a, b) => b.confidence - a.confidence)
    .slice(0, 100);
  return {
    model: classifier.name,
    engine: engine.name,
    table,
    split,
    count: e.count,
    skipped: source.index.count - positions.length,
    loss: e.loss,
    accuracy: e.accuracy,
    labels,
    classes,
    macro: macroAverage(classes),
    confusion: e.confusion,
    mistakes,
  };
}
