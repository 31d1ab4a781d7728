import os from 'node:os';
import { z } from 'zod';
import { UsageError } from '../errors';
import { TRAINING_BACKENDS } from './backend-names';
import { OPTIMIZERS } from './optimizer-names';
import { ORIGINAL_AUGMENTATION } from './augment-options';
import { checkRecipe, CLASS_WEIGHT_SCHEMA, LR_SCHEDULES, SAMPLERS, weightDecayFor } from './recipe-options';

/**
 * Every training option in one table: its schema (range and type), its default, and whether it
 * belongs to a run's identity (recorded with the run, part of an experiment's combination). The
 * schema shared by the CLI (flags), experiment plans (JSON/YAML) and `MlDb.train` (code), the
 * defaults and the hyperparameters are all derived from it; the CLI's flag for each option is in
 * commands/shared/training-flags.ts, a table over the same keys. Bounds follow what the run record
 * can store (seed is an INT UNSIGNED) and what the trainer can do (workers: one thread per core,
 * at most 64). Options without a default here take one from another rule: reduceLrPatience and
 * restoreBest follow patience, augment follows the augmentation ranges, memoryBudget the machine.
 */
export const TRAINING_OPTION_TABLE = {
  optimizer: { schema: z.enum(OPTIMIZERS), default: 'adam', identity: true },
  learningRate: { schema: z.number().positive().max(10), default: 0.001, identity: true },
  epochs: { schema: z.number().int().min(1).max(100_000), default: 10, identity: true },
  batchSize: { schema: z.number().int().min(1).max(1_048_576), default: 64, identity: true },
  validationSplit: { schema: z.number().min(0).lt(1), default: 0.1, identity: true },
  seed: {
    schema: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1),
    default: 1,
    identity: true,
  },
  patience: { schema: z.number().int().min(0).max(100_000), default: 0, identity: true },
  reduceLrPatience: { schema: z.number().int().min(0).max(100_000), default: undefined, identity: true },
  reduceLrFactor: { schema: z.number().positive().lt(1), default: 0.1, identity: true },
  restoreBest: { schema: z.boolean(), default: undefined, identity: true },
  augment: { schema: z.boolean(), default: undefined, identity: true },
  // The original's ImageDataGenerator ranges, used with --augment (flip: off, it corrupts digits).
  augmentRotation: { schema: z.number().min(0).max(180), default: ORIGINAL_AUGMENTATION.rotation, identity: true },
  augmentWidthShift: { schema: z.number().min(0).max(1), default: ORIGINAL_AUGMENTATION.widthShift, identity: true },
  augmentHeightShift: {
    schema: z.number().min(0).max(1),
    default: ORIGINAL_AUGMENTATION.heightShift,
    identity: true,
  },
  augmentZoom: { schema: z.number().min(0).lt(1), default: ORIGINAL_AUGMENTATION.zoom, identity: true },
  augmentFlip: { schema: z.boolean(), default: ORIGINAL_AUGMENTATION.flip, identity: true },
  preciseBn: { schema: z.boolean(), default: true, identity: true },
  bnSamples: { schema: z.number().int().min(1).max(1_000_000), default: 2048, identity: true },
  // The recipe (schedule, decoupled decay, smoothing), class balance and the row subset: see recipe-options.ts.
  lrSchedule: { schema: z.enum(LR_SCHEDULES), default: 'constant', identity: true },
  warmupEpochs: { schema: z.number().min(0).max(100_000), default: 0, identity: true },
  weightDecay: { schema: z.number().min(0).lt(1), default: undefined, identity: true },
  labelSmoothing: { schema: z.number().min(0).lt(1), default: 0, identity: true },
  classWeight: { schema: CLASS_WEIGHT_SCHEMA, default: 'none', identity: true },
  batchSampler: { schema: z.enum(SAMPLERS), default: 'shuffle', identity: true },
  labels: { schema: z.array(z.string().trim().min(1)).min(1), default: undefined, identity: true },
  excludeLabels: { schema: z.array(z.string().trim().min(1)).min(1), default: undefined, identity: true },
  sources: { schema: z.string().min(1).max(1024), default: undefined, identity: true },
  workers: {
    schema: z.union([z.literal('auto'), z.number().int().min(1).max(64)]),
    default: 'auto',
    identity: false,
  },
  backend: { schema: z.enum(TRAINING_BACKENDS), default: 'auto', identity: false },
  memoryBudget: { schema: z.number().int().min(1), default: undefined, identity: false },
  // Starting from a trained model (start-from.ts): its weights, layers kept fixed, and when they are released.
  initFrom: { schema: z.string().min(1).max(1000).optional(), default: undefined, identity: true },
  freeze: {
    schema: z
      .union([
        z.number().int().min(1).max(100_000),
        z.string().regex(/^up-to:.+$/, { error: 'must be a number of layers or up-to:LAYER' }),
      ])
      .optional(),
    default: undefined,
    identity: true,
  },
  unfreezeAt: { schema: z.number().int().min(2).max(100_000).optional(), default: undefined, identity: true },
} as const;

/**
 * What the learning rate is multiplied by when --unfreeze-at releases the frozen layers. The
 * optimizer then starts afresh (as Keras' transfer-learning guide recompiles the model), so its
 * first steps move every weight by about the learning rate: layers that arrive trained should
 * move an order of magnitude less than the head did while they were frozen. Keras' guide divides
 * by 100 for an ImageNet base of millions of weights trained for weeks; mldb's bases are small
 * and trained on tables of thousands of images, so a tenth leaves them room to adapt in the few
 * epochs a fine-tuning run lasts.
 */
export const UNFREEZE_LR_SCALE = 0.1;

type Table = typeof TRAINING_OPTION_TABLE;
export type TrainingOptionName = keyof Table;

export const TRAINING_OPTIONS = z.object(
  Object.fromEntries(Object.entries(TRAINING_OPTION_TABLE).map(([k, spec]) => [k, spec.schema])) as {
    [K in TrainingOptionName]: Table[K]['schema'];
  },
);

export type TrainingOptions = z.infer<typeof TRAINING_OPTIONS>;

/** The options whose default is a value (the others follow a rule, see TRAINING_OPTION_TABLE). */
type Defaulted = { [K in TrainingOptionName]: Table[K]['default'] extends undefined ? never : K }[TrainingOptionName];

/** What the trainer uses when an option is not given, derived from the table. */
export const TRAINING_DEFAULTS = Object.fromEntries(
  Object.entries(TRAINING_OPTION_TABLE)
    .filter(([, spec]) => spec.default !== undefined)
    .map(([k, spec]) => [k, spec.default]),
) as unknown as Pick<TrainingOptions, Defaulted>;

const AUGMENT_RANGES = [
  'augmentRotation',
  'augmentWidthShift',
  'augmentHeightShift',
  'augmentZoom',
  'augmentFlip',
] as const satisfies readonly (keyof TrainingOptions)[];

/**
 * `--workers auto` once the backend is chosen: one tfjs replica per core (at most 64) on wasm and
 * cpu; one on native TensorFlow, onnxruntime and oneDNN, which use every core within one step already.
 */
export function autoWorkers(backend: string): number {
  return ['tensorflow', 'onnxruntime', 'onednn'].includes(backend) ? 1 : Math.min(64, os.availableParallelism());
}

/** A --workers value: "auto" (resolved when the backend is chosen), or a number for the schema to check. */
export function workersOption(value: unknown): unknown {
  return value === 'auto' || value === undefined ? value : numeric(value);
}

/** The options that define a run's training (recorded, and part of an experiment's identity). */
export type IdentityOptionName = {
  [K in TrainingOptionName]: Table[K]['identity'] extends true ? K : never;
}[TrainingOptionName];
export type Hyperparameters = Pick<TrainingOptions, IdentityOptionName>;

/** The options of a run's identity, in the table's order (the order a run records them in). */
export const IDENTITY_OPTIONS = Object.entries(TRAINING_OPTION_TABLE)
  .filter(([, spec]) => spec.identity)
  .map(([k]) => k) as IdentityOptionName[];

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value') return `must be one of ${issue.values.join(', ')}`;
  // Lists (of labels) and text (a glob) are checked for being there, not for their size.
  if (issue.code === 'too_small' && issue.origin === 'array') return 'must list at least one value';
  if (issue.code === 'too_small' && issue.origin === 'string') return 'must not be empty';
  if (issue.code === 'invalid_type' && issue.expected === 'array') return 'must be a list';
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
  const shown = typeof value === 'string' || typeof value === 'object' ? JSON.stringify(value) : String(value);
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
  const optimizer = checked.optimizer ?? TRAINING_DEFAULTS.optimizer;
  const weightDecay = weightDecayFor(optimizer);
  const defaults: Record<string, unknown> = { ...TRAINING_DEFAULTS, ...followPatience, augment, weightDecay };
  const hp = Object.fromEntries(
    IDENTITY_OPTIONS.map((k) => [k, checked[k] ?? defaults[k]]),
  ) as unknown as Hyperparameters;
  checkRecipe(hp, checked);
  return hp;
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
