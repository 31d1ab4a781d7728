import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { InvalidDataError, NotFoundError } from '../errors';
import { validateTableName } from '../db/identifiers';
import { getArchitecture } from './architectures/registry';
import type { TrainingBackendChoice } from './backend-names';
import type { OptimizerName } from './optimizer-names';
import {
  numeric,
  workersOption,
  resolveHyperparameters,
  IDENTITY_OPTIONS,
  TRAINING_DEFAULTS,
  validateTrainingOptions,
  type IdentityOptionName,
  type TrainingOptions,
} from './training-options';
import type { Dimension } from '../study/types';
import { parseDimension, parseSearchSettings, type SearchSettings } from './search-settings';

/** More runs than an experiment can mean: 10,000 runs of a minute are a week of compute. */
export const MAX_COMBINATIONS = 10_000;

/** One cell of the grid: what varies between the runs of an experiment. */
export interface Combination {
  model: string;
  optimizer: OptimizerName;
  learningRate: number;
  batchSize: number;
  epochs: number;
  seed: number;
}

export interface ExperimentPlan {
  name: string;
  table: string;
  /** The grid's cells, in order (a grid); empty when a sampler suggests the trials. */
  combinations: Combination[];
  /** Every setting of a combination, as a list or a range: what a study searches. */
  space: Record<keyof Combination, Dimension>;
  search: SearchSettings;
  /** Settings shared by every run. */
  validationSplit: number;
  patience: number;
  backend: TrainingBackendChoice;
  /** Threads per batch (data-parallel); not part of a combination's identity. */
  workers: number | 'auto';
  /** Models go to <save>/<combination>. */
  save: string;
  /** The training recipe settings the plan gives (shared by every run; absent ones take their defaults). */
  recipe: Recipe;
}

/** The options a plan varies (its grid) and the ones it gives once for every run. */
const GRID_OPTIONS = ['optimizer', 'learningRate', 'batchSize', 'epochs', 'seed'] as const;
const SHARED_OPTIONS = ['validationSplit', 'patience'] as const;
type RecipeOption = Exclude<IdentityOptionName, (typeof GRID_OPTIONS)[number] | (typeof SHARED_OPTIONS)[number]>;

/**
 * Plan keys for the training recipe, shared by every run, and the option each sets: every other
 * option of a run's identity (training-options.ts's table), in camelCase and snake_case.
 */
const RECIPE_KEYS: Record<string, RecipeOption> = Object.fromEntries(
  IDENTITY_OPTIONS.filter(
    (k): k is RecipeOption =>
      !(GRID_OPTIONS as readonly string[]).includes(k) && !(SHARED_OPTIONS as readonly string[]).includes(k),
  )
    // The augmentation settings last, as plans have always read them: planKey hashes the recipe in
    // this order, and a resumed experiment must find the runs it completed.
    .sort((a, b) => Number(a.startsWith('augment')) - Number(b.startsWith('augment')))
    .flatMap((k) => [
      [k, k],
      [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), k],
    ]),
);

export type Recipe = Partial<Pick<TrainingOptions, RecipeOption>>;

const GRID_KEYS: Record<string, keyof Combination> = {
  model: 'model',
  models: 'model',
  architecture: 'model',
  architectures: 'model',
  optimizer: 'optimizer',
  optimizers: 'optimizer',
  learningRate: 'learningRate',
  learningRates: 'learningRate',
  learning_rate: 'learningRate',
  learning_rates: 'learningRate',
  lr: 'learningRate',
  batchSize: 'batchSize',
  batchSizes: 'batchSize',
  batch_size: 'batchSize',
  batch_sizes: 'batchSize',
  epochs: 'epochs',
  seed: 'seed',
  seeds: 'seed',
};
const TOP_KEYS = [
  'name',
  'table',
  'grid',
  'validationSplit',
  'validation_split',
  'patience',
  'backend',
  'workers',
  'save',
  'sampler',
  'trials',
  'seed',
  'pruner',
  'startupTrials',
  'startup_trials',
  'objective',
  ...Object.keys(RECIPE_KEYS),
];

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [v];
}

/** Reads and checks a plan (JSON, or YAML by extension or when it is not JSON). */
export function readPlan(file: string): ExperimentPlan {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new NotFoundError(
      `no plan file at "${file}"`,
      'pass a JSON or YAML file with a table and a grid (see docs/runs-and-experiments.md)',
    );
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (e) {
    try {
      raw = YAML.parse(text); // YAML is a superset of JSON: a .plan file in either works
    } catch {
      throw new InvalidDataError(
        `plan "${file}" is neither valid JSON nor YAML: ${(e as Error).message.split('\n')[0]}`,
        'fix the syntax',
      );
    }
  }
  return parsePlan(raw, path.basename(file).replace(/\.(json|ya?ml)$/i, ''));
}

export function parsePlan(raw: unknown, defaultName: string): ExperimentPlan {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new InvalidDataError('a plan must be an object with "table" and "grid"', 'see docs/runs-and-experiments.md');
  const p = raw as Record<string, unknown>;
  const unknownTop = Object.keys(p).filter((k) => !TOP_KEYS.includes(k));
  if (unknownTop.length)
    throw new InvalidDataError(
      `unknown plan key "${unknownTop[0]}"`,
      `use ${TOP_KEYS.filter((k) => !k.includes('_')).join(', ')}`,
    );
  if (typeof p.table !== 'string')
    throw new InvalidDataError('the plan names no table', 'add "table": "<dataset table>"');
  validateTableName(p.table);
  const grid = (p.grid ?? {}) as Record<string, unknown>;
  if (typeof grid !== 'object' || Array.isArray(grid))
    throw new InvalidDataError(
      '"grid" must be an object of lists',
      'e.g. "grid": { "model": ["lenet5"], "learningRate": [0.001, 0.01] }',
    );
  const where = `plan "${defaultName}": `;
  const axes: Partial<Record<keyof Combination, unknown[]>> = {};
  const ranges: Partial<Record<keyof Combination, Dimension>> = {};
  for (const [k, v] of Object.entries(grid)) {
    const key = GRID_KEYS[k];
    if (!key)
      throw new InvalidDataError(
        `unknown grid key "${k}"`,
        'use model, optimizer, learningRate, batchSize, epochs, seed',
      );
    if (axes[key] || ranges[key])
      throw new InvalidDataError(`grid key "${k}" repeats "${key}"`, 'give each setting once');
    const dim = parseDimension(key, k, v, where);
    if (!Array.isArray(dim)) {
      // A range's ends are checked as values of the setting: a learning rate of 0 is refused here.
      for (const end of [dim.low, dim.high]) validateTrainingOptions({ [key]: end }, where);
      ranges[key] = dim;
      axes[key] = [dim.low];
      continue;
    }
    axes[key] = list(dim);
    if (axes[key]!.length === 0) throw new InvalidDataError(`grid "${k}" is empty`, 'give at least one value');
  }
  if (!axes.model) throw new InvalidDataError('the grid names no model', 'add "model": ["simple_cnn", …]');
  const shared = validateTrainingOptions(
    {
      validationSplit: numeric(p.validationSplit ?? p.validation_split),
      patience: numeric(p.patience),
      backend: p.backend,
      workers: workersOption(p.workers ?? 'auto'),
    },
    where,
  );
  const recipe: Recipe = {};
  for (const [k, option] of Object.entries(RECIPE_KEYS)) {
    if (p[k] === undefined) continue;
    if (recipe[option] !== undefined) throw new InvalidDataError(`plan key "${k}" repeats "${option}"`, 'give it once');
    Object.assign(recipe, validateTrainingOptions({ [option]: numeric(p[k]) }, where));
  }
  const validationSplit = shared.validationSplit ?? TRAINING_DEFAULTS.validationSplit;
  const patience = shared.patience ?? TRAINING_DEFAULTS.patience;
  const backend: TrainingBackendChoice = shared.backend ?? TRAINING_DEFAULTS.backend;
  const workers = shared.workers ?? TRAINING_DEFAULTS.workers;
  const axis = (key: keyof Combination) => (axes[key] ?? [TRAINING_DEFAULTS[key as 'epochs']]).map(numeric);
  const values = {
    model: axes.model.map((m) => getArchitecture(String(m)).name),
    optimizer: axis('optimizer') as OptimizerName[],
    learningRate: axis('learningRate') as number[],
    batchSize: axis('batchSize') as number[],
    epochs: axis('epochs') as number[],
    seed: axis('seed') as number[],
  };
  // Counted before anything is expanded or checked value by value: a grid of a million runs is
  // refused at once, by its size, not after minutes of listing it.
  const count = Object.values(values).reduce((n, list) => n * list.length, 1);
  const hasRanges = Object.keys(ranges).length > 0;
  const search = parseSearchSettings(p, where, hasRanges, count, MAX_COMBINATIONS);
  const space = Object.fromEntries(
    (Object.keys(values) as Array<keyof Combination>).map((k) => [
      k,
      ranges[k] ?? { kind: 'choice', values: values[k] as Array<string | number> },
    ]),
  ) as ExperimentPlan['space'];
  if (search.sampler === 'grid' && count > MAX_COMBINATIONS)
    throw new InvalidDataError(
      `plan "${defaultName}" has ${count.toLocaleString('en-US')} combinations, ` +
        `more than ${MAX_COMBINATIONS.toLocaleString('en-US')}`,
      'split it into smaller plans, or give fewer values per setting',
    );
  for (const [key, list] of Object.entries(values)) {
    if (key !== 'model') for (const v of list) validateTrainingOptions({ [key]: v }, where);
  }
  const combinations: Combination[] = [];
  if (search.sampler === 'grid')
    for (const model of values.model)
      for (const optimizer of values.optimizer)
        for (const learningRate of values.learningRate)
          for (const batchSize of values.batchSize)
            for (const epochs of values.epochs)
              for (const seed of values.seed) {
                const c = { model, optimizer, learningRate, batchSize, epochs, seed };
                // One clear error before training.
                resolveHyperparameters({ ...c, validationSplit, patience, ...recipe });
                combinations.push(c);
              }
  const name = typeof p.name === 'string' && p.name.trim() ? p.name.trim() : defaultName;
  return {
    name,
    table: p.table,
    combinations,
    space,
    search,
    validationSplit,
    patience,
    backend,
    workers,
    recipe,
    save: typeof p.save === 'string' ? p.save : path.join('models', 'experiments', name.replace(/[^\w.-]+/g, '_')),
  };
}

/** A trial's parameters (the space's keys) as a combination; training checks a drawn one as it checks any. */
export function combinationOf(params: Record<string, string | number>): Combination {
  return {
    model: String(params.model),
    optimizer: String(params.optimizer) as OptimizerName,
    learningRate: Number(params.learningRate),
    batchSize: Number(params.batchSize),
    epochs: Number(params.epochs),
    seed: Number(params.seed),
  };
}

/** "lenet5-adam-lr0.001-b64-e5-s1": a readable, file-safe name for one combination. */
export function combinationLabel(c: Combination): string {
  return `${c.model}-${c.optimizer}-lr${c.learningRate}-b${c.batchSize}-e${c.epochs}-s${c.seed}`;
}

/**
 * What identifies a combination across re-runs: the table, the combination and the shared
 * settings. A completed run with this key means the combination is done.
 */
export function planKey(plan: ExperimentPlan, c: Combination): string {
  // Recipe settings count only when the plan gives them: plans written before they existed keep their keys.
  const identity = {
    table: plan.table,
    ...c,
    validationSplit: plan.validationSplit,
    patience: plan.patience,
    ...plan.recipe,
  };
  return crypto.createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}
