import { InvalidDataError } from '../errors';
import { PRUNERS, SAMPLERS, type Dimension, type PrunerName, type SamplerName } from '../study/types';

/**
 * A plan's search: how each setting of its space is given (a list to choose from, or a range),
 * which sampler suggests the trials, which pruner stops losing ones, and which validation metric
 * chooses. The grid of lists is the case every plan has always been.
 */

/** The validation metrics a study can be ranked by, and which way is better. */
export const OBJECTIVES = { val_accuracy: 'maximize', val_loss: 'minimize' } as const;
export type ObjectiveName = keyof typeof OBJECTIVES;

export interface SearchSettings {
  sampler: SamplerName;
  /** Trials to run: the grid's size for a grid (its limit is checked with the grid). */
  trials: number;
  seed: number;
  pruner: PrunerName;
  startupTrials: number;
  objective: ObjectiveName;
}

const RANGE_KINDS = ['log', 'uniform', 'int'] as const;
/** Settings a range may span, and the range kinds each takes. */
const RANGE_OK: Record<string, readonly string[]> = {
  learningRate: ['log', 'uniform'],
  batchSize: ['int'],
  epochs: ['int'],
  seed: ['int'],
};

/**
 * One setting of the space: a list (or one value) to choose from, or `{log: [a, b]}`,
 * `{uniform: [a, b]}`, `{int: [a, b]}`. Values themselves are checked by the caller.
 */
export function parseDimension(
  key: string,
  grid: string,
  raw: unknown,
  where: string,
): Exclude<Dimension, { kind: 'choice' }> | unknown[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return Array.isArray(raw) ? raw : [raw];
  const entries = Object.entries(raw as Record<string, unknown>);
  const kind = entries[0]?.[0];
  const example = `e.g. ${grid}: {log: [0.0001, 0.1]}`;
  if (entries.length !== 1 || !(RANGE_KINDS as readonly string[]).includes(kind))
    throw new InvalidDataError(`${where}"${grid}" must be a list or one of {log|uniform|int: [low, high]}`, example);
  if (!RANGE_OK[key]?.includes(kind))
    throw new InvalidDataError(
      `${where}"${grid}" cannot be a ${kind} range`,
      RANGE_OK[key] ? `use ${RANGE_OK[key].join(' or ')}, or a list` : 'give a list of values',
    );
  const bounds = entries[0][1];
  const [low, high] = Array.isArray(bounds) ? bounds.map(Number) : [NaN, NaN];
  if (!Array.isArray(bounds) || bounds.length !== 2 || !Number.isFinite(low) || !Number.isFinite(high) || low >= high)
    throw new InvalidDataError(`${where}"${grid}" ${kind} range must be [low, high] with low < high`, example);
  if (kind === 'log' && low <= 0) throw new InvalidDataError(`${where}"${grid}" log range must be above 0`, example);
  if (kind === 'int' && (!Number.isInteger(low) || !Number.isInteger(high)))
    throw new InvalidDataError(`${where}"${grid}" int range takes whole numbers`, `e.g. ${grid}: {int: [16, 128]}`);
  return { kind: kind as 'log' | 'uniform' | 'int', low, high };
}

function choice<T extends string>(where: string, key: string, value: unknown, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  throw new InvalidDataError(`${where}${key} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`, '');
}

function count(where: string, key: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new InvalidDataError(
      `${where}${key} must be a whole number of at least ${min}, got ${JSON.stringify(value)}`,
      '',
    );
  return n;
}

/** The plan keys of the search, checked; `hasRanges`: some setting of the space is a range. */
export function parseSearchSettings(
  p: Record<string, unknown>,
  where: string,
  hasRanges: boolean,
  gridSize: number,
  maxTrials: number,
): SearchSettings {
  const sampler = choice(where, 'sampler', p.sampler, SAMPLERS, hasRanges ? 'tpe' : 'grid');
  if (sampler === 'grid' && hasRanges)
    throw new InvalidDataError(
      `${where}a grid takes lists only, and the space has a range`,
      'use sampler: random or tpe',
    );
  if (sampler === 'grid' && p.trials !== undefined)
    throw new InvalidDataError(`${where}"trials" is for sampler random or tpe`, 'a grid runs each of its cells once');
  const trials = sampler === 'grid' ? gridSize : count(where, 'trials', p.trials, 20, 1);
  if (sampler !== 'grid' && trials > maxTrials)
    throw new InvalidDataError(
      `${where}trials must be at most ${maxTrials.toLocaleString('en-US')}`,
      'split the search',
    );
  const objective = choice(where, 'objective', p.objective, Object.keys(OBJECTIVES) as ObjectiveName[], 'val_accuracy');
  return {
    sampler,
    trials,
    seed: count(where, 'seed', p.seed, 0, 0),
    pruner: choice(where, 'pruner', p.pruner, PRUNERS, 'none'),
    startupTrials: count(where, 'startupTrials', p.startupTrials ?? p.startup_trials, 5, 0),
    objective,
  };
}
