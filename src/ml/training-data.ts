import crypto from 'node:crypto';
import { labels as tableLabels, maxRowId, splitCounts } from '../db/table-stats';
import { currentVersion } from '../db/table-versions';
import type { Db } from '../db/db';
import { getDataset, requireShape } from '../db/registry';
import type { ImageShape } from '../image-shape';
import type { RowIndex } from '../samples/pixel-matrix';
import { openSampleSource, type SampleSource } from '../samples/sample-source';
import { InvalidDataError, UsageError } from '../errors';
import { canonicalLabel } from '../labels';
import { requireFit } from './architectures/registry';
import type { Architecture } from './architectures/types';
import { seededPermutation } from './seeded';
import type { Hyperparameters } from './training-options';
import type { RowSubset } from '../db/row-selection';
import { checkSubsetLabels, rowSubsetOf } from './row-subset';

/** Which rows a run trains and validates on, as the caller is told before training starts. */
export interface DataPlan {
  train: number;
  validation: number;
  /** "held-out": a seeded share of the train split; "split": the rows imported as validation. */
  validationFrom: 'held-out' | 'split';
  streaming: boolean;
  /** Rows per database read when streaming. */
  chunkRows: number;
  memoryBudget: number;
  /** Count and hash of exactly the rows used (train and validation). */
  fingerprint: { rows: number; sha256: string };
  /** The largest row id read: the run's row set is the rows with id ≤ this. */
  rowsUntil: number;
  /** The table version read (`TABLE@N`, or the latest). */
  tableVersion: number;
  /** Rows of each label among those trained on (validation rows held out excluded). */
  classCounts: Record<string, number>;
}

/** The rows planned: where they are read from, in which positions, and what the caller is told. */
export interface TrainingData {
  shape: ImageShape;
  labels: string[];
  trainSource: SampleSource;
  trainPositions: Uint32Array;
  valSource: SampleSource;
  valPositions: Uint32Array;
  info: DataPlan;
}

export interface DataChoices {
  budget: number;
  /** The run's seeded sequence: the hold-out shuffle draws from it first, the epochs after. */
  random: () => number;
  rowsUntil?: number;
  /** The version of the table to read (`TABLE@N`); default: the current rows. */
  tableVersion?: number;
  readParallelism?: number;
}

/** The fingerprint of exactly the rows used: count and a hash over ids and content hashes. */
export function fingerprint(...indexes: RowIndex[]): { rows: number; sha256: string } {
  const h = crypto.createHash('sha256');
  let rows = 0;
  for (const index of indexes) {
    for (let i = 0; i < index.count; i++) {
      h.update(String(index.ids[i]));
      h.update(index.hashes[i]);
    }
    rows += index.count;
  }
  return { rows, sha256: h.digest('hex') };
}

/**
 * Which rows train and which validate. Rows imported into the validation split validate, when
 * there are any; otherwise a seeded shuffle of the train split holds `validationSplit` out.
 * The test split is never read here.
 */
export async function planData(
  db: Db,
  table: string,
  arch: Architecture,
  hp: Hyperparameters,
  choices: DataChoices,
): Promise<TrainingData> {
  const dataset = await getDataset(db, table);
  const shape = requireShape(dataset);
  requireFit(arch, shape);
  const asOf = choices.tableVersion;
  // The version read is recorded beside the row set: `train --like run:ID` reads it again.
  const tableVersion = asOf ?? (await currentVersion(db, table));
  const maxId = choices.rowsUntil ?? (await maxRowId(db, table, asOf));
  const subset = rowSubsetOf(hp);
  const labels = await readLabels(db, table, { maxId, asOf }, subset);
  const counts = await splitCounts(db, table, { maxId, asOf, ...subset });
  if (counts.train === 0)
    throw new InvalidDataError(`table "${table}" has no rows in the train split`, 'import images first');
  const total = counts.train + counts.validation;
  const open = (split: 'train' | 'validation', rows: number) =>
    openSampleSource(
      db,
      table,
      shape,
      { split, maxId, asOf, ...subset },
      {
        memoryBudget: Math.floor((choices.budget * rows) / Math.max(total, 1)),
        batchSize: hp.batchSize,
        readParallelism: choices.readParallelism,
      },
    );
  const trainSource = await open('train', counts.train);
  const all = seededPermutation(trainSource.index.count, choices.random);
  const valSource = counts.validation > 0 ? await open('validation', counts.validation) : trainSource;
  const { trainPositions, valPositions } =
    valSource !== trainSource
      ? { trainPositions: all, valPositions: Uint32Array.from(valSource.index.ids.keys()) }
      : holdOut(table, all, hp.validationSplit);
  if (hp.batchSize > trainPositions.length) {
    throw new UsageError(
      `--batch-size ${hp.batchSize} is larger than the ${trainPositions.length} training rows`,
      `use at most ${trainPositions.length}`,
    );
  }
  const classCounts = Object.fromEntries(labels.map((l) => [l, 0]));
  for (const p of trainPositions) classCounts[canonicalLabel(trainSource.index.labels[p])]++;
  const info: DataPlan = {
    train: trainPositions.length,
    validation: valPositions.length,
    validationFrom: valSource !== trainSource ? 'split' : 'held-out',
    streaming: trainSource.streaming || valSource.streaming,
    chunkRows: trainSource.chunkRows,
    memoryBudget: choices.budget,
    fingerprint:
      valSource === trainSource ? fingerprint(trainSource.index) : fingerprint(trainSource.index, valSource.index),
    rowsUntil: maxId,
    tableVersion,
    classCounts,
  };
  return { shape, labels, trainSource, trainPositions, valSource, valPositions, info };
}

/**
 * The classes of the table's rows (of the subset asked for). Rows stored before labels had one
 * spelling may hold `seven` and `seven `: one class, as the server's collation and today's
 * imports have it.
 */
async function readLabels(
  db: Db,
  table: string,
  rows: { maxId: number; asOf?: number },
  subset: RowSubset,
): Promise<string[]> {
  const labels = [...new Set((await tableLabels(db, table, { ...rows, ...subset })).map(canonicalLabel))];
  checkSubsetLabels(table, subset, labels);
  const subsetted = Object.keys(subset).length > 0;
  if (labels.length < 2)
    throw new InvalidDataError(
      `${subsetted ? 'the rows chosen of table' : 'table'} "${table}" ${subsetted ? 'have' : 'has'} ` +
        `${labels.length} label(s); training needs at least 2`,
      subsetted
        ? 'choose more rows with --labels, --exclude-labels or --sources'
        : 'import images of at least two labels',
    );
  return labels;
}

/** The first `validationSplit` of a seeded shuffle of the train split validates; the rest trains. */
function holdOut(
  table: string,
  shuffled: Uint32Array,
  validationSplit: number,
): { trainPositions: Uint32Array; valPositions: Uint32Array } {
  const nVal = Math.round(shuffled.length * validationSplit);
  if (validationSplit > 0 && (nVal < 1 || nVal >= shuffled.length)) {
    throw new InvalidDataError(
      `table "${table}" has ${shuffled.length} training rows: too few for a validation split of ` +
        `${validationSplit}`,
      'import more images, or lower --validation-split (0 trains without validation)',
    );
  }
  return { valPositions: shuffled.slice(0, nVal), trainPositions: shuffled.slice(nVal) };
}
