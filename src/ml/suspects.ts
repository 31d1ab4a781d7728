import { canonicalLabel } from '../labels';
import { defaultMemoryBudget } from '../samples/memory-budget';
import { openSampleSource } from '../samples/sample-source';
import { getDataset, requireShape } from '../db/registry';
import type { Db } from '../db/db';
import { keysetPages, PAGE_ROWS } from '../db/row-selection';
import type { Split } from '../db/schema';
import { InvalidDataError } from '../errors';
import type { SavedModel } from './artifacts';
import { classThresholds, labelIssues } from './confident-learning';
import type { ModelEngine } from './inference-engine';

/** `mldb suspects`: the rows whose stored label a model most confidently contradicts. */

export interface Suspect {
  id: number;
  label: string;
  /** The label the model confidently gives it instead. */
  suggested: string;
  /** The model's probability of `suggested`. */
  confidence: number;
  /** The model's probability of the stored label. */
  labelProbability: number;
  /** confidence − labelProbability: the ranking key, largest first. */
  margin: number;
  split: Split;
  source: string;
  /**
   * Whether the model trained on the row (its scores on it are optimistic): a train-split row
   * up to the run's last row id. null when the model does not say which rows it trained on.
   */
  trained: boolean | null;
}

export interface SuspectsReport {
  model: string;
  engine: string;
  table: string;
  /** Rows scored (every split). */
  count: number;
  /** Rows whose label the model was not trained on (not scored). */
  skipped: number;
  /** Every row confident learning flags, before --limit. */
  found: number;
  /** Per label, t_j: the mean probability of the label over the rows stored with it. */
  thresholds: Record<string, number | null>;
  suspects: Suspect[];
}

/** Whether the model trained on a row, from what its metadata says about its run. */
function trainedOn(saved: SavedModel, table: string, database?: string): (id: number, split: Split) => boolean | null {
  const d = saved.metadata.dataset;
  // A model trained on another table (or the same name in another database) saw none of these rows.
  if (!d || d.table !== table || (database !== undefined && d.database !== '' && d.database !== database))
    return () => false;
  const until = d.rowsUntil;
  if (until === undefined) return (_id, split) => (split === 'train' ? null : false);
  // The validation share held out of the train split counts as trained on: a safe over-estimate.
  return (id, split) => split === 'train' && id <= until;
}

/** Each row's split and source (of version `asOf` when given), by id. */
type Origin = { split: Split; source: string };

async function rowOrigins(db: Db, table: string, asOf?: number): Promise<Map<number, Origin>> {
  const origins = new Map<number, Origin>();
  type Row = Origin & { id: number };
  for await (const page of keysetPages<Row>(db, table, 'id, split, source', { asOf }, PAGE_ROWS))
    for (const r of page) origins.set(Number(r.id), { split: r.split, source: r.source });
  return origins;
}

/**
 * Runs the model over every row of the table (every split) and ranks the rows confident learning
 * flags; the first `limit` are returned. The table must have the model's input shape.
 */
export async function findSuspects(
  db: Db,
  saved: SavedModel,
  engine: ModelEngine,
  table: string,
  {
    asOf,
    database,
    limit = 20,
    memoryBudget = defaultMemoryBudget(),
    readParallelism,
  }: {
    asOf?: number;
    /** The database the table is in: a model trained in another one did not train on its rows. */
    database?: string;
    limit?: number;
    memoryBudget?: number;
    readParallelism?: number;
  } = {},
): Promise<SuspectsReport> {
  const shape = requireShape(await getDataset(db, table));
  const want = saved.metadata.inputShape;
  if (shape.height !== want[0] || shape.width !== want[1] || shape.channels !== want[2]) {
    throw new InvalidDataError(
      `table "${table}" holds ${shape.height}×${shape.width}×${shape.channels} images but the model takes ` +
        `${want.join('×')}`,
      'choose the table the model was trained on, or a model trained at this shape',
    );
  }
  const labels = saved.metadata.labels;
  const numClasses = labels.length;
  const source = await openSampleSource(db, table, shape, { asOf }, { memoryBudget, batchSize: 256, readParallelism });
  const classIndex = new Map(labels.map((l, i) => [l, i]));
  const classOf = (p: number) => classIndex.get(canonicalLabel(source.index.labels[p]));
  const positions = [...source.index.labels.keys()].filter((p) => classOf(p) !== undefined);
  if (positions.length === 0) {
    throw new InvalidDataError(
      `none of the rows of "${table}" has a label the model knows ` +
        `(${labels.slice(0, 5).join(', ')}${labels.length > 5 ? ', …' : ''})`,
      'look for suspects in the table the model was trained on',
    );
  }
  // Every row's probabilities are kept: thresholds need all rows before any row can be judged.
  const probs = new Float32Array(positions.length * numClasses);
  let k = 0;
  for await (const batch of source.batches(positions, 256)) {
    const n = batch.positions.length;
    probs.set((await engine.run(batch.xs, n)).subarray(0, n * numClasses), k * numClasses);
    k += n;
  }
  const truth = Int32Array.from(positions, (p) => classOf(p)!);
  const issues = labelIssues(probs, truth, numClasses);
  const t = classThresholds(probs, truth, numClasses);
  const thresholds = Object.fromEntries(labels.map((l, j) => [l, Number.isFinite(t[j]) ? t[j] : null]));
  const origins = await rowOrigins(db, table, asOf);
  const trained = trainedOn(saved, table, database);
  const suspects = issues.slice(0, limit).map((issue): Suspect => {
    const p = positions[issue.position];
    const id = source.index.ids[p];
    const origin = origins.get(id);
    if (!origin) throw new InvalidDataError(`row ${id} of "${table}" went away while it was read`, 'run it again');
    return {
      id,
      label: source.index.labels[p],
      suggested: labels[issue.suggested],
      confidence: issue.confidence,
      labelProbability: issue.labelProbability,
      margin: issue.margin,
      split: origin.split,
      source: origin.source,
      trained: trained(id, origin.split),
    };
  });
  return {
    model: saved.dir,
    engine: engine.name,
    table,
    count: positions.length,
    skipped: source.index.count - positions.length,
    found: issues.length,
    thresholds,
    suspects,
  };
}
