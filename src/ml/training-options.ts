import os from 'node:os';
import { z } from 'zod';
import { UsageError } from '../errors';
import { TRAINING_BACKENDS } from './backend-names';
import { OPTIMIZERS } from './optimizer-names';
import { ORIGINAL_AUGMENTATION } from './augment-options';

/**
 * Every training option, validated by one schema shared by the CLI (flags), experiment plans
 * (JSON/YAML) and `MlDb.train` (code). Bounds follow what the run record can store (seed is an
 * INT UNSIGNED) and what the trainer can do (workers: one thread per core, at most 64).
 */
export const TRAINING_OPTIONS = z.object({
  optimizer: z.enum(OPTIMIZERS),
  learningRate: z.number().positive().max(10),
  epochs: z.number().int().min(1).max(100_000),
  batchSize: z.number().int().min(1).max(1_048_576),
  validationSplit: z.number().min(0).lt(1),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1),
  patience: z.number().int().min(0).max(100_000),
  reduceLrPatience: z.number().int().min(0).max(100_000),
  reduceLrFactor: z.number().positive().lt(1),
  restoreBest: z.boolean(),
  augment: z.boolean(),
  augmentRotation: z.number().min(0).max(180),
  augmentWidthShift: z.number().min(0).max(1),
  augmentHeightShift: z.number().min(0).max(1),
  augmentZoom: z.number().min(0).lt(1),
  augmentFlip: z.boolean(),
  preciseBn: z.boolean(),
  bnSamples: z.number().int().min(1).max(1_000_000),
  workers: z.union([z.literal('auto'), z.number().int().min(1).max(64)]),
  backend: z.enum(TRAINING_BACKENDS),
  memoryBudget: z.number().int().min(1),
});

export type TrainingOptions = z.infer<typeof TRAINING_OPTIONS>;

/**
 * What the trainer uses when an option is not given. Two follow --patience, as in the original's
 * Keras recipe: reduce-on-plateau after patience/4 epochs (at least 1), and the best epoch kept.
 */
export const TRAINING_DEFAULTS: Omit<TrainingOptions, 'memoryBudget' | 'reduceLrPatience' | 'restoreBest' | 'augment'> =
  {
    optimizer: 'adam',
    learningRate: 0.001,
    epochs: 10,
    batchSize: 64,
    validationSplit: 0.1,
    seed: 1,
    patience: 0,
    reduceLrFactor: 0.1,
    // The original's ImageDataGenerator ranges, used with --augment (flip: off, it corrupts digits).
    augmentRotation: ORIGINAL_AUGMENTATION.rotation,
    augmentWidthShift: ORIGINAL_AUGMENTATION.widthShift,
    augmentHeightShift: ORIGINAL_AUGMENTATION.heightShift,
    augmentZoom: ORIGINAL_AUGMENTATION.zoom,
    augmentFlip: ORIGINAL_AUGMENTATION.flip,
    preciseBn: true,
    bnSamples: 2048,
    workers: 'auto',
    backend: 'auto',
  };

const AUGMENT_RANGES = [
  'augmentRotation',
  'augmentWidthShift',
  'augmentHeightShift',
  'augmentZoom',
  'augmentFlip',
] as const satisfies readonly (keyof TrainingOptions)[];

/**
 * `--workers auto` once the backend is chosen: one tfjs replica per core (at most 64) on wasm and
 * cpu; one on native TensorFlow and on onnxruntime, which use every core within one step already.
 */
export function autoWorkers(backend: string): number {
  return backend === 'tensorflow' || backend === 'onnxruntime' ? 1 : Math.min(64, os.availableParallelism());
}

/** A --workers value: "auto" (resolved when the backend is chosen), or a number for the schema to check. */
export function workersOption(value: unknown): unknown {
  return value === 'auto' || value === undefined ? value : numeric(value);
}

/** The options that define a run's training (recorded, and part of an experiment's identity). */
export type Hyperparameters = Pick<
  TrainingOptions,
  | 'optimizer'
  | 'learningRate'
  | 'epochs'
  | 'batchSize'
  | 'validationSplit'
  | 'seed'
  | 'patience'
  | 'reduceLrPatience'
  | 'reduceLrFactor'
  | 'restoreBest'
  | 'augment'
  | 'augmentRotation'
  | 'augmentWidthShift'
  | 'augmentHeightShift'
  | 'augmentZoom'
  | 'augmentFlip'
  | 'preciseBn'
  | 'bnSamples'
>;

const HYPERPARAMETER_KEYS = [
  'optimizer',
  'learningRate',
  'epochs',
  'batchSize',
  'validationSplit',
  'seed',
  'patience',
  'reduceLrPatience',
  'reduceLrFactor',
  'restoreBest',
  'augment',
  'augmentRotation',
  'augmentWidthShift',
  'augmentHeightShift',
  'augmentZoom',
  'augmentFlip',
  'preciseBn',
  'bnSamples',
] as const satisfies readonly (keyof Hyperparameters)[];

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value') return `must be one of ${issue.values.join(', ')}`;
  if (issue.code === 'invalid_type') return issue.expected === 'int' ? 'must be a whole number' : 'must be a number';
  if (issue.code === 'too_small') {
    const inclusive = issue.inclusive ? 'at least' : 'above';
    return `must be ${inclusive} ${String(issue.minimum)}`;
  }
  if (issue.code === 'too_big') return `must be ${issue.inclusive ? 'at most' : 'below'} ${String(issue.maximum)}`;
  return issue.message;
}

/**
 * Checks the options given (absent ones are fine) and returns them typed. The error names the
 * option as the API spells it (`learningRate`); the CLI shows it as its flag.
 */
export function validateTrainingOptions(given: Record<string, unknown>, where = ''): Partial<TrainingOptions> {
  const present = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const parsed = TRAINING_OPTIONS.partial().strip().safeParse(present);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = String(issue.path[0]);
  const value = present[field];
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  throw new UsageError(`${where}${field} ${describeIssue(issue)}, got ${shown}`, undefined, { field });
}

/** Hyperparameters with defaults filled in, validated. */
export function resolveHyperparameters(given: Partial<Record<keyof Hyperparameters, unknown>>): Hyperparameters {
  const checked = validateTrainingOptions(given);
  const patience = checked.patience ?? TRAINING_DEFAULTS.patience;
  const followPatience = {
    reduceLrPatience: patience > 0 ? Math.max(1, Math.floor(patience / 4)) : 0,
    restoreBest: patience > 0,
  };
  // Setting one augmentation range asks for augmentation.
  const augment = AUGMENT_RANGES.some((k) => checked[k] !== undefined);
  const defaults: Record<string, unknown> = { ...TRAINING_DEFAULTS, ...followPatience, augment };
  return Object.fromEntries(
    HYPERPARAMETER_KEYS.map((k) => [k, checked[k] ?? defaults[k]]),
  ) as unknown as Hyperparameters;
}

/** A run's options as the trainer uses them: every hyperparameter, and the engine's choices. */
export interface ResolvedTraining {
  hyperparameters: Hyperparameters;
  backend: TrainingOptions['backend'];
  /** "auto" until the backend is chosen (engines/select-engine.ts resolves it). */
  workers: TrainingOptions['workers'];
}

/**
 * The one place a run's options are checked and completed with TRAINING_DEFAULTS: `MlDb.train`
 * and `trainModel` take options as given (from flags, a plan or code) and call this once.
 */
export function resolveTraining(given: object): ResolvedTraining {
  const checked = validateTrainingOptions(given as Record<string, unknown>);
  return {
    hyperparameters: resolveHyperparameters(checked),
    backend: checked.backend ?? TRAINING_DEFAULTS.backend,
    workers: checked.workers ?? TRAINING_DEFAULTS.workers,
  };
}

/**
 * A number from a flag or a plan value, strictly: decimal notation only ("1e-3" and "0.5" yes,
 * "", "0x10", "1,5" no). Anything else is passed through for the schema to reject by name.
 */
export function numeric(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) ? Number(text) : value;
}
