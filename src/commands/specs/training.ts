import { SPLITS } from '../../db/enums';
import { EXIT } from '../../errors';
import { BACKENDS } from '../../ml/backend-names';
import { ENGINES } from '../../ml/engine-names';
import { TRAINING_FLAGS, type TrainingFlag } from '../shared/training-flags';
import { command, str, type CommandSpec, type OptionSpec } from './spec';

/** Architectures and stored models, training, evaluation. */

/** `mldb train`'s training flags, from the one table of them (commands/shared/training-flags.ts). */
function trainingOptionSpecs(): OptionSpec[] {
  return Object.values(TRAINING_FLAGS as Record<string, TrainingFlag>).flatMap((f): OptionSpec[] => [
    [f.flag, f.help, f.choices ? { choices: f.choices } : undefined],
    ...(f.negation ? [[f.negation.flag, f.negation.help] as OptionSpec] : []),
  ]);
}

const MODELS = command({
  name: 'models [action] [args...]',
  description:
    'architectures and stored models: `models` lists, `models push DIR`, `models pull REF DIR`, `models rm REF`, ' +
    '`models export REF --format onnx`',
  options: [
    ['--size <N|HxW>', 'input size for the parameter counts', { default: '20' }],
    ['--channels <1|3>', 'input channels', { default: '1', choices: ['1', '3'] }],
    ['--classes <N>', 'number of classes', { default: '10' }],
    ['--name <name>', 'push: the stored name (default: the folder name); a new version if it exists'],
    ['-y, --yes', 'rm: do not ask for confirmation'],
    ['--format <format>', 'export: the file format', { choices: ['onnx'] }],
    ['--out <file>', 'export: where to write (default: <model>.onnx here)'],
  ],
  helpAfter:
    '\nREF is a stored model: its id, its name (newest version), NAME@VERSION, or run:ID ' +
    '(the model that run stored); export also takes a model folder.',
  load: () => import('../models.js'),
  step: (m, [action, args], opts) => ({
    run: (ctx) => m.run(ctx, str(action), (args as string[]) ?? [], opts),
    print: m.print,
  }),
});

const TRAIN = command({
  name: 'train',
  description: 'train a named architecture on the train split of a table and save it',
  options: [
    ['--model <name>', 'architecture (see `mldb models`)'],
    ...trainingOptionSpecs(),
    ['--save <dir>', 'where to save the model (default: models/<table>-<model>-<time>)'],
    [
      '--read-parallelism <K>',
      'connections reading the rows at once from one server (default: MLDB_READ_PARALLELISM or the cores, ≤ 4)',
    ],
    ['--name <name>', 'a name for the run record'],
    [
      '--min-accuracy <A>',
      `exit ${EXIT.BELOW_THRESHOLD} when the test accuracy ends below A (after recording the run)`,
    ],
    ['--tensorboard <dir>', 'write TensorBoard event logs (tensorflow backend only)'],
    ['--store-as <name>', 'name of the model kept in the database (default: the saved folder name)'],
    [
      '--rows-until <id|run:ID>',
      'train on rows with id ≤ this (run:ID: the rows that run used); default: every row present at the start',
    ],
    ['--no-store', 'do not keep the model in the database (mldb_models), only in the folder'],
    [
      '--like <run:ID>',
      "train on exactly that run's rows, labels and splits (its table version), with its settings; flags override",
    ],
  ],
  load: () => import('../train.js'),
  step: (m, _args, opts, global) => ({
    run: (ctx) => m.run(ctx, opts, global.table),
    print: m.print,
    exitCode: m.exitCode,
  }),
});

const EVALUATE = command({
  name: 'evaluate',
  description: 'measure a saved model on a split of a table: loss, accuracy, per-class scores, confusion matrix',
  options: [
    ['--model <ref>', 'a model folder, run:ID, or a stored model (id, name, name@version)'],
    ['--split <split>', 'which split', { default: 'test', choices: SPLITS }],
    ['--backend <name>', 'compute backend', { default: 'auto', choices: BACKENDS }],
    [
      '--engine <name>',
      'what runs the model: onnxruntime when installed, else tfjs (auto)',
      { default: 'auto', choices: ENGINES },
    ],
    ['--memory-budget <size>', 'stream the rows when their tensors exceed this (default: a quarter of RAM)'],
    ['--read-parallelism <K>', 'connections reading the rows at once from one server (default: the cores, ≤ 4)'],
    ['--labels <a,b,…>', 'only rows of these labels'],
    ['--exclude-labels <a,b,…>', 'leave out rows of these labels'],
    ['--sources <GLOB>', 'only rows whose source path matches GLOB (* any characters, ? one)'],
  ],
  helpAfter: '\nThe table is --table (or MLDB_TABLE) when given, else the one the model was trained on.',
  load: () => import('../evaluate.js'),
  step: (m, _args, opts, global) => ({
    run: (ctx) => m.run(ctx, opts, global.table ?? ctx.settings().table),
    print: m.print,
  }),
});

export const TRAINING_COMMANDS: CommandSpec<unknown>[] = [MODELS, TRAIN, EVALUATE];
