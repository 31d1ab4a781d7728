import { TRAINING_BACKENDS } from '../../ml/backend-names';
import { OPTIMIZERS } from '../../ml/optimizer-names';
import {
  numeric,
  TRAINING_DEFAULTS,
  UNFREEZE_LR_SCALE,
  workersOption,
  type TrainingOptionName,
  type TrainingOptions,
} from '../../ml/training-options';
import { LR_SCHEDULES, SAMPLERS } from '../../ml/recipe-options';
import { resolveMemoryBudget } from '../../samples/memory-budget';
import { classWeightArgument, labelList } from './recipe-flags';

/**
 * How the CLI spells each training option: its flag(s), help and, for flags with a value, how the
 * text becomes the option's value (checked afterwards by the one schema, which names the option).
 * A table over every key of ml/training-options.ts's TRAINING_OPTION_TABLE: an option without a
 * flag, or a flag for no option, does not compile. `mldb train`'s flags, its parsed options and
 * the wording of errors (cli-wording.ts) all come from here.
 */
export interface TrainingFlag {
  /** Commander's syntax; the first word is the flag errors name. */
  flag: string;
  help: string;
  /** The opposite flag of a boolean option, listed after it. */
  negation?: { flag: string; help: string };
  choices?: readonly string[];
  /** Text → value for flags that take one (default: a number, strictly). */
  parse?: (text: string) => unknown;
}

const shown = (name: keyof typeof TRAINING_DEFAULTS) => ` (default: ${TRAINING_DEFAULTS[name]})`;

export const TRAINING_FLAGS = {
  optimizer: { flag: '--optimizer <name>', help: 'optimizer' + shown('optimizer'), choices: OPTIMIZERS, parse: String },
  learningRate: { flag: '--learning-rate <R>', help: 'learning rate' + shown('learningRate') },
  epochs: { flag: '--epochs <N>', help: 'epochs' + shown('epochs') },
  batchSize: { flag: '--batch-size <B>', help: 'batch size' + shown('batchSize') },
  validationSplit: {
    flag: '--validation-split <F>',
    help: 'fraction of train rows held out by a seeded shuffle' + shown('validationSplit'),
  },
  seed: { flag: '--seed <S>', help: 'seed for initialisation, hold-out and shuffles' + shown('seed') },
  patience: {
    flag: '--patience <P>',
    help: 'stop after P epochs without a better val_loss (0: never)' + shown('patience'),
  },
  reduceLrPatience: {
    flag: '--reduce-lr-patience <P>',
    help:
      'multiply the learning rate by --reduce-lr-factor after P epochs without a better val_loss ' +
      '(default: patience/4 with --patience, else never)',
  },
  reduceLrFactor: {
    flag: '--reduce-lr-factor <F>',
    help: 'what reduce-on-plateau multiplies the learning rate by' + shown('reduceLrFactor'),
  },
  restoreBest: {
    flag: '--restore-best',
    help: 'save the epoch with the best val_loss, not the last (default with --patience)',
    negation: { flag: '--no-restore-best', help: 'save the last epoch even with --patience' },
  },
  augment: { flag: '--augment', help: "warp each training image at random, per batch (the original's ranges below)" },
  augmentRotation: {
    flag: '--augment-rotation <DEG>',
    help: 'rotate by up to ± DEG degrees (implies --augment; default 10)',
  },
  augmentWidthShift: {
    flag: '--augment-width-shift <F>',
    help: 'shift by up to ± F of the width (implies --augment; default 0.1)',
  },
  augmentHeightShift: {
    flag: '--augment-height-shift <F>',
    help: 'shift by up to ± F of the height (implies --augment; default 0.1)',
  },
  augmentZoom: { flag: '--augment-zoom <F>', help: 'scale each axis by 1 ± F (implies --augment; default 0.1)' },
  augmentFlip: {
    flag: '--augment-flip',
    help: 'mirror left-right half of the time (implies --augment; off: it corrupts digits)',
  },
  bnSamples: {
    flag: '--bn-samples <N>',
    help: 'training rows over which batch-norm statistics are recomputed before each evaluation' + shown('bnSamples'),
  },
  preciseBn: {
    flag: '--no-precise-bn',
    help: 'keep the moving averages of batch-norm statistics instead (Keras behaviour)',
  },
  lrSchedule: {
    flag: '--lr-schedule <name>',
    help:
      'learning rate per batch: constant, cosine (annealed to 0) or onecycle (its momentum cycled too), as PyTorch' +
      shown('lrSchedule'),
    choices: LR_SCHEDULES,
    parse: String,
  },
  warmupEpochs: {
    flag: '--warmup-epochs <E>',
    help:
      'raise the learning rate linearly over the first E epochs (onecycle: its rising phase)' + shown('warmupEpochs'),
  },
  weightDecay: {
    flag: '--weight-decay <D>',
    help: "--optimizer adamw's decoupled weight decay (default: 0.01, torch's)",
  },
  labelSmoothing: {
    flag: '--label-smoothing <E>',
    help:
      "soften the targets: 1 − E on the true label and E spread over all k (Keras' label_smoothing)" +
      shown('labelSmoothing'),
  },
  classWeight: {
    flag: '--class-weight <balanced|none|FILE>',
    help: "weigh each label's loss: balanced (n/(k·count) of the train rows), none, or a JSON file {label: weight}",
    parse: classWeightArgument,
  },
  batchSampler: {
    flag: '--sampler <name>',
    help:
      'shuffle: each train row once per epoch; balanced: each batch drawn evenly over the labels' +
      shown('batchSampler'),
    choices: SAMPLERS,
    parse: String,
  },
  labels: {
    flag: '--labels <a,b,…>',
    help: 'train on rows of these labels only (the model knows only these)',
    parse: labelList,
  },
  excludeLabels: { flag: '--exclude-labels <a,b,…>', help: 'leave out rows of these labels', parse: labelList },
  sources: {
    flag: '--sources <GLOB>',
    help: 'train on rows whose source path matches GLOB (* any characters, ? one)',
    parse: String,
  },
  backend: {
    flag: '--backend <name>',
    help:
      'what trains (auto: mldb’s oneDNN addon for the networks it runs, else onnxruntime, ' +
      'native TensorFlow, wasm, cpu)' +
      shown('backend'),
    choices: TRAINING_BACKENDS,
    parse: String,
  },
  memoryBudget: {
    flag: '--memory-budget <size>',
    help: 'stream the rows when their tensors exceed this, e.g. 512M (default: MLDB_MEMORY_BUDGET or a quarter of RAM)',
    parse: (text) => resolveMemoryBudget(text),
  },
  workers: {
    flag: '--workers <N|auto>',
    help:
      'tfjs backends: split each batch over N threads, one core each (auto: one per core; 1 on onnxruntime)' +
      shown('workers'),
    parse: workersOption,
  },
  // Starting from a trained model (ml/start-from.ts).
  initFrom: {
    flag: '--init-from <REF>',
    help:
      'start from a trained model (name[@version], run:ID or a model folder): layers whose name and shape match ' +
      "are copied; the head is rebuilt when the table's labels differ",
    parse: String,
  },
  freeze: {
    flag: '--freeze <N|up-to:LAYER>',
    help: 'keep the first N layers (or every layer up to LAYER) fixed, their batch-norm statistics too',
    parse: (text) => (/^\d+$/.test(text) ? Number(text) : text),
  },
  unfreezeAt: {
    flag: '--unfreeze-at <EPOCH>',
    help: `release the frozen layers from this epoch on, the learning rate × ${UNFREEZE_LR_SCALE}`,
  },
} as const satisfies Record<TrainingOptionName, TrainingFlag>;

/** The key commander stores a flag's value under: `--exclude-labels <a,b>` → excludeLabels. */
function attributeOf(flag: string): string {
  return flag
    .split(' ')[0]
    .replace(/^--(no-)?/, '')
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The flag an error about this option names. */
export function trainingFlagName(name: TrainingOptionName): string {
  return TRAINING_FLAGS[name].flag.split(' ')[0];
}

/** What commander hands over for the training flags: text for flags with a value, else booleans. */
export type TrainingFlagValues = Partial<Record<TrainingOptionName, string | boolean>>;

/** The training options the flags give, converted but not checked (the schema checks them once, by name). */
export function trainingOptionsFromFlags(flags: TrainingFlagValues): Partial<TrainingOptions> {
  const options: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(TRAINING_FLAGS) as [TrainingOptionName, TrainingFlag][]) {
    // Commander keys a value by its flag (`--sampler` → sampler), which may differ from the option's name.
    const value = flags[name] ?? (flags as Record<string, string | boolean | undefined>)[attributeOf(spec.flag)];
    if (value === undefined) continue;
    options[name] = typeof value === 'string' ? (spec.parse ?? numeric)(value) : value;
  }
  return options as Partial<TrainingOptions>;
}
