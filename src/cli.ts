import { Command, CommanderError, Option } from 'commander';
import type { ConfigOverrides } from './config';
import { cliLine } from './commands/cli-wording';
import { setting } from './config';
import { EXIT, isMldbError } from './errors';
import { hideSecretsFromProcessList } from './process-list';
import { fromFileSystemError } from './file-targets';
import { RUN_STATUSES, SPLITS } from './db/enums';
import { BACKENDS } from './ml/backend-names';
import { ENGINES } from './ml/engine-names';
import { PURPOSES } from './doctor/check';
import { COMMAND_DEFAULTS } from './commands/shared/defaults';
import { TRAINING_FLAGS, type TrainingFlag } from './commands/shared/training-flags';
import { LAYOUTS } from './ingest/layout';
import { createContext, type CommandContext } from './commands/context';
import { createOutput, type Output } from './ui/output';

/**
 * The command-line program. It only declares commands and flags: each command lives in its own
 * module under commands/, imported when it runs, so `mldb --help` and the dataset commands never
 * load TensorFlow. This is the only place that sets the exit code.
 */

interface GlobalFlags {
  url?: string;
  table?: string;
  json?: boolean;
  verbose?: boolean;
}

type StepOf<T> = {
  run: (ctx: CommandContext) => Promise<T>;
  print: (result: T, out: Output) => void;
  exitCode?: (result: T) => number;
  /** The command already wrote JSON lines (NDJSON): its --json result is one more line, not a document. */
  jsonLines?: (result: T) => boolean;
};

let verbose = false;

async function execute<T>(cmd: Command, step: StepOf<T>): Promise<void> {
  const flags = cmd.optsWithGlobals<GlobalFlags>();
  verbose = Boolean(flags.verbose);
  const overrides: ConfigOverrides = { url: flags.url, table: flags.table };
  const out = createOutput(flags);
  const ctx = createContext(overrides, out);
  try {
    const result = await step.run(ctx);
    if (out.json && step.jsonLines?.(result)) process.stdout.write(JSON.stringify(result) + '\n');
    else if (out.json) out.document(result);
    else step.print(result, out);
    process.exitCode = step.exitCode?.(result) ?? EXIT.OK;
  } finally {
    await ctx.dispose();
  }
}

type Positional = string | string[] | undefined;
/**
 * `shown`: a default that --help states but the CLI does not set, because the layer below owns it
 * (TRAINING_DEFAULTS, COMMAND_DEFAULTS): the flag stays undefined when it is not given.
 */
type OptionSpec = [
  flags: string,
  description: string,
  extra?: { default?: string; shown?: string | number; choices?: readonly string[] },
];

/** One command of the table: its words, flags, the module that runs it, and how arguments reach it. */
interface CommandSpec<M> {
  /** Commander's syntax: `name <required> [optional] [variadic...]`; `db start` nests under `db`. */
  name: string;
  description: string;
  options?: OptionSpec[];
  usage?: string;
  helpAfter?: string;
  /** Imported only when the command runs, so `--help` and dataset commands never load TensorFlow. */
  load: () => Promise<M>;
  step: (m: M, args: Positional[], opts: Record<string, string | boolean | undefined>, global: GlobalFlags) => Step;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry's step has its own result type
type Step = StepOf<any>;

/** Checks one entry's step against its module's types, then stores it beside the others. */
function command<M>(spec: CommandSpec<M>): CommandSpec<unknown> {
  return spec as CommandSpec<unknown>;
}

const str = (v: Positional) => v as string | undefined;

/** `mldb train`'s training flags, from the one table of them (commands/shared/training-flags.ts). */
function trainingOptionSpecs(): OptionSpec[] {
  return Object.values(TRAINING_FLAGS as Record<string, TrainingFlag>).flatMap((f): OptionSpec[] => [
    [f.flag, f.help, f.choices ? { choices: f.choices } : undefined],
    ...(f.negation ? [[f.negation.flag, f.negation.help] as OptionSpec] : []),
  ]);
}
const SHAPE_OPTIONS: OptionSpec[] = [
  ['--size <N|HxW>', "image size every image is stored at (default: the first image's)"],
  ['--channels <1|3>', "grayscale (1) or RGB (3) (default: the first image's)", { choices: ['1', '3'] }],
];

/** What every row edit takes besides its selection. */
const EDIT_OPTIONS: OptionSpec[] = [
  ['--dry-run', 'say which rows would change, change nothing'],
  ['-y, --yes', 'do not ask for confirmation (asked on a terminal above a handful of rows)'],
];

export const COMMANDS: CommandSpec<unknown>[] = [
  command({
    name: 'create-table [name]',
    description: 'create a dataset table (name defaults to --table / MLDB_TABLE / "images")',
    options: [
      ...SHAPE_OPTIONS,
      ['--test-fraction <F>', 'fraction of images assigned to the test split', { default: '0.1' }],
      ['--validation-fraction <F>', 'fraction assigned to the validation split', { default: '0' }],
      ['--shards <N|all>', 'on a MariaDB Spider head: spread the table over N (or all) of its servers'],
    ],
    load: () => import('./commands/create-table.js'),
    step: (m, [name], opts) => ({ run: (ctx) => m.run(ctx, str(name), opts), print: m.print }),
  }),
  command({
    name: 'drop-table [name]',
    description: 'drop a dataset table and its rows (asks on a terminal; --yes otherwise)',
    options: [['-y, --yes', 'do not ask for confirmation']],
    load: () => import('./commands/drop-table.js'),
    step: (m, [name], opts) => ({ run: (ctx) => m.run(ctx, str(name), opts), print: m.print }),
  }),
  command({
    name: 'tables',
    description: 'list dataset tables: rows, labels, shape, size, created',
    load: () => import('./commands/tables.js'),
    step: (m) => ({ run: (ctx) => m.run(ctx), print: m.print }),
  }),
  command({
    name: 'show [name]',
    description: 'counts per label and split, shape and sizes of one table',
    load: () => import('./commands/show.js'),
    step: (m, [name]) => ({ run: (ctx) => m.run(ctx, str(name)), print: m.print }),
  }),
  command({
    name: 'rows [name]',
    description: 'list rows without their images: id, label, split, source, hash, bytes',
    options: [
      ['--label <label>', 'only this label'],
      ['--split <split>', 'only this split', { choices: SPLITS }],
      ['--limit <N>', 'at most N rows', { default: '20' }],
      ['--after <id>', 'rows after this id (next page)'],
    ],
    load: () => import('./commands/rows.js'),
    step: (m, [name], opts) => ({ run: (ctx) => m.run(ctx, str(name), opts), print: m.print }),
  }),
  command({
    name: 'import <source>',
    description:
      'import DIR/<label>/<images> (or train|validation|test/<label>/…), a tar/tar.gz/zip archive, or - (a tar ' +
      'stream on stdin) into the table (idempotent, resumable); --watch keeps importing files as they arrive',
    options: [
      ['--create', 'create the table if it does not exist'],
      ...SHAPE_OPTIONS,
      ['--test-fraction <F>', 'with --create: fraction for the test split (default 0.1)'],
      ['--validation-fraction <F>', 'with --create: fraction for the validation split (default 0)'],
      [
        '--split <split>',
        'put every image in this split (default: the folder layout, else the content hash)',
        {
          choices: SPLITS,
        },
      ],
      [
        '--layout <layout>',
        'labels: <label>/<file>; splits: <split>/<label>/<file>',
        {
          default: 'auto',
          choices: LAYOUTS,
        },
      ],
      ['--manifest <file>', 'a CSV/TSV of path,label[,split] rows for the files of a flat folder'],
      [
        '--max-megapixels <N>',
        'reject images larger than this (width × height), checked from the header before decoding',
        { shown: COMMAND_DEFAULTS.maxMegapixels },
      ],
      [
        '--threads <N>',
        'threads that read, hash and decode (default: MLDB_IMPORT_THREADS, else the cores but one; 1 below 4)',
      ],
      ['--watch', 'keep running and import files as they arrive (Ctrl-C or SIGTERM stops)'],
      [
        '--settle <duration>',
        'with --watch: how long a file must sit unchanged unless its bytes show it is complete',
        { shown: COMMAND_DEFAULTS.settle },
      ],
      ['--batch-files <N>', 'with --watch: commit a batch at N files (default 500)…'],
      ['--batch-wait <duration>', '…or when its first file has waited this long (default 100ms)'],
      ['--move-done <dir>', 'with --watch: move imported files here (default: leave them)'],
      ['--move-failed <dir>', 'with --watch: move rejected files here'],
    ],
    load: () => import('./commands/import.js'),
    step: (m, [source], opts, global) => ({
      run: (ctx) => m.run(ctx, str(source)!, { ...opts, table: global.table }),
      print: m.print,
      exitCode: m.exitCode,
      jsonLines: (r) => 'watch' in r,
    }),
  }),
  command({
    name: 'export <args...>',
    usage: '[table] <dir> [options]',
    description: 'write DIR/<label>/<file> with the original bytes of each row',
    options: [
      ['--split <split>', 'only this split', { choices: SPLITS }],
      ['--label <label>', 'only this label'],
    ],
    load: () => import('./commands/export.js'),
    step: (m, [args], opts) => ({ run: (ctx) => m.run(ctx, args as string[], opts), print: m.print }),
  }),
  command({
    name: 'db start',
    description: 'start a loopback-only server with data under .mldb/ (needs mariadbd or mysqld)',
    options: [['--shards <N>', 'a MariaDB Spider head and N backend servers (needs mariadb-plugin-spider)']],
    load: () => import('./commands/db.js'),
    step: (m, _args, opts) => ({ run: (ctx) => m.start(ctx, opts), print: m.printStart }),
  }),
  command({
    name: 'db stop',
    description: 'stop the local server (and its shard servers) started by `mldb db start`',
    load: () => import('./commands/db.js'),
    step: (m) => ({ run: (ctx) => m.stop(ctx), print: m.printStop }),
  }),
  command({
    name: 'db status',
    description: 'which database mldb would use, and whether it answers',
    load: () => import('./commands/db.js'),
    step: (m) => ({ run: (ctx) => m.status(ctx), print: m.printStatus, exitCode: m.statusExitCode }),
  }),
  command({
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
    load: () => import('./commands/models.js'),
    step: (m, [action, args], opts) => ({
      run: (ctx) => m.run(ctx, str(action), (args as string[]) ?? [], opts),
      print: m.print,
    }),
  }),
  command({
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
    load: () => import('./commands/train.js'),
    step: (m, _args, opts, global) => ({
      run: (ctx) => m.run(ctx, opts, global.table),
      print: m.print,
      exitCode: m.exitCode,
    }),
  }),
  command({
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
    ],
    helpAfter: '\nThe table is --table (or MLDB_TABLE) when given, else the one the model was trained on.',
    load: () => import('./commands/evaluate.js'),
    step: (m, _args, opts, global) => ({
      run: (ctx) => m.run(ctx, opts, global.table ?? setting('MLDB_TABLE')),
      print: m.print,
    }),
  }),
  command({
    name: 'predict [images...]',
    description:
      'classify image files with a saved model: label, confidence and the top k; --watch DIR classifies images as ' +
      'they arrive and logs them in mldb_predictions',
    options: [
      ['--model <ref>', 'a model folder, run:ID, or a stored model (id, name, name@version)'],
      ['--top <k>', 'how many labels to list per image', { default: '3' }],
      ['--backend <name>', 'compute backend', { default: 'auto', choices: BACKENDS }],
      [
        '--engine <name>',
        'what runs the model: onnxruntime when installed, else tfjs (auto)',
        { default: 'auto', choices: ENGINES },
      ],
      ['--watch <dir>', 'keep running and classify images as they arrive under DIR (Ctrl-C stops)'],
      [
        '--settle <duration>',
        'with --watch: how long a file must sit unchanged unless its bytes show it is complete',
        { shown: COMMAND_DEFAULTS.settle },
      ],
      ['--no-log', 'with --watch: do not record predictions in mldb_predictions'],
    ],
    load: () => import('./commands/predict.js'),
    step: (m, [images], opts) => ({
      run: (ctx) => m.run(ctx, (images as string[] | undefined) ?? [], opts),
      print: m.print,
      exitCode: m.exitCode,
      jsonLines: (r) => 'watch' in r,
    }),
  }),
  command({
    name: 'serve',
    description: 'a prediction service: web page, JSON API, metrics; every request logged in mldb_predictions',
    options: [
      ['--model <ref>', 'a model folder, run:ID, or a stored model (id, name, name@version)'],
      [
        '--host <address>',
        'address to listen on (not loopback: anyone who reaches it can use it)',
        {
          default: '127.0.0.1',
        },
      ],
      ['--port <N>', 'port (0: any free one)', { default: '8080' }],
      [
        '--token <secret>',
        'require Authorization: Bearer <secret> (default: MLDB_SERVE_TOKEN); other users see it in the process ' +
          'list, so prefer the variable or --token-file',
      ],
      ['--token-file <file>', 'the token, from the first line of this file'],
      ['--top <k>', 'labels listed per image', { default: '3' }],
      ['--log-inputs', 'keep each input image in the log (needed for `mldb predictions promote`)'],
      [
        '--max-logged-input <size>',
        'with --log-inputs: larger inputs are logged without their bytes',
        { default: '1M' },
      ],
      ['--max-body <size>', 'largest request body and image', { default: '8M' }],
      ['--max-files <N>', 'most images per request', { default: '64' }],
      ['--max-megapixels <N>', 'largest image (width × height), checked before decoding', { default: '25' }],
      ['--max-batch <N>', 'most images per model call', { default: '64' }],
      [
        '--batch-window <ms>',
        'how long a lone request waits for others (0: batches form while the model is busy)',
        {
          default: '0',
        },
      ],
      [
        '--workers <N|auto>',
        'tfjs engine: inference threads, each with a copy of the model (auto: one per core; 0: main thread)',
        {
          default: 'auto',
        },
      ],
      [
        '--engine <name>',
        'what runs the model: onnxruntime when installed (it uses every core itself), else tfjs (auto)',
        { default: 'auto', choices: ENGINES },
      ],
      ['--queue <rows>', 'log rows held while the database is slow or away; more are dropped', { default: '10000' }],
      [
        '--drain-timeout <s>',
        'on SIGTERM, how long to wait for the database to take queued log rows',
        {
          default: '10',
        },
      ],
      ['--backend <name>', 'compute backend', { default: 'auto', choices: BACKENDS }],
      ['--ui', 'also serve the dashboard (as `mldb ui` does) under /ui/'],
    ],
    load: () => import('./commands/serve.js'),
    step: (m, _args, opts) => ({ run: (ctx) => m.run(ctx, opts), print: m.print, exitCode: m.exitCode }),
  }),
  command({
    name: 'ui',
    description:
      'a web dashboard of the database: datasets and their images, runs and their curves, experiments, models, ' +
      'the prediction log',
    options: [
      [
        '--host <address>',
        'address to listen on (not loopback: anyone who reaches it can read the database)',
        { default: '127.0.0.1' },
      ],
      ['--port <N>', 'port (0: any free one)', { default: '8090' }],
      [
        '--token <secret>',
        'require Authorization: Bearer <secret> and allow label corrections (default: MLDB_UI_TOKEN); other users ' +
          'see it in the process list, so prefer the variable or --token-file',
      ],
      ['--token-file <file>', 'the token, from the first line of this file'],
    ],
    load: () => import('./commands/ui.js'),
    step: (m, _args, opts) => ({ run: (ctx) => m.run(ctx, opts), print: m.print }),
  }),
  command({
    name: 'predictions [action]',
    description: 'the prediction log: `predictions` lists, `predictions promote --table T` adds corrected ones to T',
    options: [
      ['--model <name>', 'only predictions of this model (as listed, e.g. name@2)'],
      ['--since <when>', 'only since a date (2026-11-21) or a duration back (30m, 2h, 7d)'],
      ['--label <label>', 'only predictions of this label'],
      ['--corrected', 'only predictions whose label was corrected'],
      ['--limit <N>', 'at most N rows', { default: '20' }],
      ['--create', 'promote: create the table if it does not exist'],
    ],
    helpAfter: '\npromote imports the corrected predictions whose input was logged (serve --log-inputs) into --table.',
    load: () => import('./commands/predictions.js'),
    step: (m, [action], opts, global) => ({
      run: (ctx) => m.run(ctx, str(action), { ...opts, table: global.table }),
      print: m.print,
    }),
  }),
  command({
    name: 'runs [action] [ids...]',
    description: 'the recorded training runs: `runs` lists, `runs show ID`, `runs compare ID ID…`',
    options: [
      ['--model <name>', 'only runs of this architecture'],
      ['--status <status>', 'only runs in this state', { choices: RUN_STATUSES }],
      ['--experiment <name>', 'only runs of this experiment'],
      ['--limit <N>', 'at most N runs', { default: '20' }],
    ],
    helpAfter: '\n--table T (a global option) lists only the runs on table T.',
    load: () => import('./commands/runs.js'),
    step: (m, [action, ids], opts, global) => ({
      run: (ctx) => m.run(ctx, str(action), ids as string[], { ...opts, table: global.table }),
      print: m.print,
    }),
  }),
  command({
    name: 'experiment <plan>',
    description: 'train every combination of a grid (JSON or YAML plan), record each, print a leaderboard; resumable',
    options: [
      ['--min-accuracy <A>', `exit ${EXIT.BELOW_THRESHOLD} when the best test accuracy ends below A`],
      ['--dry-run', 'list the combinations and which are already done, train nothing'],
    ],
    load: () => import('./commands/experiment.js'),
    step: (m, [plan], opts) => ({
      run: (ctx) => m.run(ctx, str(plan)!, opts),
      print: m.print,
      exitCode: m.exitCode,
    }),
  }),
  command({
    name: 'report <id>',
    description: 'PNG plots (curves, confusion matrix, misclassified images) and an index.html for one run',
    options: [['--out <dir>', 'where to write (default: reports/run-<id>)']],
    load: () => import('./commands/report.js'),
    step: (m, [id], opts) => ({ run: (ctx) => m.run(ctx, str(id)!, opts), print: m.print }),
  }),
  command({
    name: 'doctor',
    description: 'what this machine has and what mldb will use: server, engines, browser, database, privileges',
    options: [
      [
        '--for <purpose>',
        'only say whether this can run: main (the configured database), demo or tests',
        { choices: PURPOSES },
      ],
    ],
    load: () => import('./commands/doctor.js'),
    step: (m, _args, opts) => ({ run: (ctx) => m.run(ctx, opts), print: m.print, exitCode: m.exitCode }),
  }),
  command({
    name: 'demo',
    description: 'start a server if needed, import the shipped sample digits, train simple_cnn on them and evaluate it',
    options: [['--no-train', 'only import and show the sample']],
    load: () => import('./commands/demo.js'),
    step: (m, _args, opts) => ({ run: (ctx) => m.run(ctx, opts), print: m.print }),
  }),
  // Curation: edits of a table's rows, its versions (docs/curation.md).
  command({
    name: 'relabel <table> <ids...>',
    description: 'give rows a new label (one new version; all rows or none)',
    options: [['--to <label>', 'the new label (created if the table has none of it yet)'], ...EDIT_OPTIONS],
    load: () => import('./commands/relabel.js'),
    step: (m, [table, ids], opts) => ({ run: (ctx) => m.run(ctx, str(table)!, ids as string[], opts), print: m.print }),
  }),
  command({
    name: 'rm-rows <table> [ids...]',
    description: 'remove rows by id, --source GLOB or --label (one new version; older versions keep them until purge)',
    options: [
      ['--source <glob>', 'every row whose stored source path matches (* any characters, ? one)'],
      ['--label <label>', 'every row of this label'],
      ...EDIT_OPTIONS,
    ],
    load: () => import('./commands/rm-rows.js'),
    step: (m, [table, ids], opts) => ({ run: (ctx) => m.run(ctx, str(table)!, ids as string[], opts), print: m.print }),
  }),
  command({
    name: 'move-split <table> <ids...>',
    description: 'move rows to another split (one new version; all rows or none)',
    options: [['--to <split>', 'train, validation or test', { choices: SPLITS }], ...EDIT_OPTIONS],
    load: () => import('./commands/move-split.js'),
    step: (m, [table, ids], opts) => ({ run: (ctx) => m.run(ctx, str(table)!, ids as string[], opts), print: m.print }),
  }),
  command({
    name: 'versions [table]',
    description: "a table's versions: what made each (import, edit, promote), rows, when, by whom, tags",
    load: () => import('./commands/versions.js'),
    step: (m, [table]) => ({ run: (ctx) => m.run(ctx, str(table)), print: m.print }),
  }),
  command({
    name: 'tag <table> <name> [version]',
    description: 'name a version of a table (default: the latest); TABLE@NAME then reads it',
    load: () => import('./commands/tag.js'),
    step: (m, [table, name, version]) => ({
      run: (ctx) => m.run(ctx, str(table)!, str(name)!, str(version)),
      print: m.print,
    }),
  }),
  command({
    name: 'purge <table>',
    description: 'forget the versions before one (their history, removed rows included) and say what that frees',
    options: [
      ['--before <version>', 'the earliest version to keep readable (a number or tag)'],
      ['--dry-run', 'say what would be freed, change nothing'],
      ['-y, --yes', 'do not ask for confirmation (needed when not on a terminal)'],
    ],
    load: () => import('./commands/purge.js'),
    step: (m, [table], opts) => ({ run: (ctx) => m.run(ctx, str(table)!, opts), print: m.print }),
  }),
  command({
    name: 'diff <from> <to>',
    description: 'what changed between two versions of a table (TABLE@N, TABLE@TAG, or TABLE: the current rows)',
    options: [['--rows', 'list the rows added, removed, relabelled and moved']],
    load: () => import('./commands/diff.js'),
    step: (m, [a, b], opts) => ({ run: (ctx) => m.run(ctx, str(a)!, str(b)!, opts), print: m.print }),
  }),
];

function addOptions(cmd: Command, options: OptionSpec[] = []): void {
  for (const [flags, description, extra] of options) {
    const option = new Option(
      flags,
      extra?.shown === undefined ? description : `${description} (default: ${extra.shown})`,
    );
    if (extra?.default !== undefined) option.default(extra.default);
    if (extra?.choices) option.choices(extra.choices);
    cmd.addOption(option);
  }
}

export function buildProgram(): Command {
  const program = new Command('mldb')
    .description('Keep labeled image datasets in MySQL and train neural networks on them.')
    .version(require('../package.json').version as string)
    .option('--url <url>', 'database URL mysql://user:password@host:port/database (default: MLDB_URL)')
    .option('-t, --table <name>', 'dataset table (default: MLDB_TABLE or "images")')
    .option('--json', 'print one JSON document on stdout instead of text')
    .option('--verbose', 'show stack traces on errors')
    .exitOverride()
    // Commander's own errors (unknown flag, bad choice) as one line, like every other mldb error.
    .configureOutput({
      outputError: (text, write) => write(`mldb: ${text.trim().replace(/^error: /, '')} (see --help)\n`),
    });
  const parents = new Map<string, Command>();
  for (const spec of COMMANDS) {
    const words = spec.name.split(' ');
    let parent = program;
    if (words.length > 1 && !words[1].startsWith('<') && !words[1].startsWith('[')) {
      const group = words.shift()!;
      parent =
        parents.get(group) ??
        program.command(group).description('a private local MySQL/MariaDB server for this folder');
      parents.set(group, parent);
    }
    const cmd = parent.command(words.join(' ')).description(spec.description);
    if (spec.usage) cmd.usage(spec.usage);
    if (spec.helpAfter) cmd.addHelpText('after', spec.helpAfter);
    addOptions(cmd, spec.options);
    cmd.action(async (...received: unknown[]) => {
      // Commander passes the positional arguments, then the options, then the command itself.
      const self = received[received.length - 1] as Command;
      const args = received.slice(0, -2) as Positional[];
      const m = await spec.load();
      await execute(self, spec.step(m, args, self.opts(), self.optsWithGlobals<GlobalFlags>()));
    });
  }
  return program;
}

/** Turns any failure into one line on stderr and an exit code; stack traces only with --verbose. */
function reportError(e: unknown): number {
  if (e instanceof CommanderError) {
    // Commander has already printed its message (and help, for --help/--version).
    return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  // A file-system error no handler translated (EACCES, ENOSPC… while writing) is still the user's to fix.
  e = fromFileSystemError(e) ?? e;
  if (isMldbError(e)) {
    process.stderr.write(`mldb: ${cliLine(e)}\n`);
    if (verbose && e.stack) process.stderr.write(e.stack + '\n');
    return e.exitCode;
  }
  const err = e as Error;
  process.stderr.write(
    `mldb: unexpected error: ${err?.message ?? String(e)}${verbose ? '' : ' (run with --verbose for details)'}\n`,
  );
  if (verbose && err?.stack) process.stderr.write(err.stack + '\n');
  return EXIT.INTERNAL;
}

/**
 * The net under every handler: an error that escaped all of them (a rejection nobody awaited, a
 * throw in a callback) still ends mldb with one `mldb:` line and an exit code, never a stack dump
 * (unless --verbose) nor a message carrying a statement's data.
 */
function exitOnEscapedError(e: unknown): void {
  process.exitCode = reportError(e);
  process.exit();
}

export async function main(argv: string[] = process.argv): Promise<void> {
  verbose = argv.includes('--verbose');
  if (argv === process.argv) hideSecretsFromProcessList(argv);
  // `mldb tables --json | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    exitOnEscapedError(e);
  });
  process.on('unhandledRejection', exitOnEscapedError);
  process.on('uncaughtException', exitOnEscapedError);
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    process.exitCode = reportError(e);
  }
}
