import { Command, CommanderError } from 'commander';
import type { ConfigOverrides } from './config';
import { EXIT, isMldbError } from './errors';
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

type Step<T> = {
  run: (ctx: CommandContext) => Promise<T>;
  print: (result: T, out: Output) => void;
  exitCode?: (result: T) => number;
};

let verbose = false;

async function execute<T>(cmd: Command, step: Step<T>): Promise<void> {
  const flags = cmd.optsWithGlobals<GlobalFlags>();
  verbose = Boolean(flags.verbose);
  const overrides: ConfigOverrides = { url: flags.url, table: flags.table };
  const out = createOutput(flags);
  const ctx = createContext(overrides, out);
  try {
    const result = await step.run(ctx);
    if (out.json) out.document(result);
    else step.print(result, out);
    process.exitCode = step.exitCode?.(result) ?? EXIT.OK;
  } finally {
    await ctx.dispose();
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
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('create-table [name]')
    .description('create a dataset table (name defaults to --table / MLDB_TABLE / "images")')
    .option('--size <N|HxW>', "image size every image is stored at (default: the first image's)")
    .option('--channels <1|3>', "grayscale (1) or RGB (3) (default: the first image's)")
    .option('--test-fraction <F>', 'fraction of images assigned to the test split', '0.1')
    .option('--validation-fraction <F>', 'fraction assigned to the validation split', '0')
    .action(async (name, opts, cmd) => {
      const m = await import('./commands/create-table.js');
      await execute(cmd, { run: (ctx) => m.run(ctx, name, opts), print: m.print });
    });

  program
    .command('drop-table [name]')
    .description('drop a dataset table and its rows (asks on a terminal; --yes otherwise)')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (name, opts, cmd) => {
      const m = await import('./commands/drop-table.js');
      await execute(cmd, { run: (ctx) => m.run(ctx, name, opts), print: m.print });
    });

  program
    .command('tables')
    .description('list dataset tables: rows, labels, shape, size, created')
    .action(async (_opts, cmd) => {
      const m = await import('./commands/tables.js');
      await execute(cmd, { run: (ctx) => m.run(ctx), print: m.print });
    });

  program
    .command('show [name]')
    .description('counts per label and split, shape and sizes of one table')
    .action(async (name, _opts, cmd) => {
      const m = await import('./commands/show.js');
      await execute(cmd, { run: (ctx) => m.run(ctx, name), print: m.print });
    });

  program
    .command('rows [name]')
    .description('list rows without their images: id, label, split, source, hash, bytes')
    .option('--label <label>', 'only this label')
    .option('--split <split>', 'only train, validation or test')
    .option('--limit <N>', 'at most N rows', '20')
    .option('--after <id>', 'rows after this id (next page)')
    .action(async (name, opts, cmd) => {
      const m = await import('./commands/rows.js');
      await execute(cmd, { run: (ctx) => m.run(ctx, name, opts), print: m.print });
    });

  program
    .command('import <dir>')
    .description('import DIR/<label>/<images> into the table (idempotent, resumable)')
    .option('--create', 'create the table if it does not exist')
    .option('--size <N|HxW>', 'with --create: store images at this size')
    .option('--channels <1|3>', 'with --create: grayscale (1) or RGB (3)')
    .option('--test-fraction <F>', 'with --create: fraction for the test split (default 0.1)')
    .option('--validation-fraction <F>', 'with --create: fraction for the validation split (default 0)')
    .action(async (dir, opts, cmd) => {
      const m = await import('./commands/import.js');
      const flags = { ...opts, table: cmd.optsWithGlobals().table };
      await execute(cmd, { run: (ctx) => m.run(ctx, dir, flags), print: m.print, exitCode: m.exitCode });
    });

  program
    .command('export <args...>')
    .usage('[table] <dir> [options]')
    .description('write DIR/<label>/<file> with the original bytes of each row')
    .option('--split <split>', 'only train, validation or test')
    .option('--label <label>', 'only this label')
    .action(async (args, opts, cmd) => {
      const m = await import('./commands/export.js');
      await execute(cmd, { run: (ctx) => m.run(ctx, args, opts), print: m.print });
    });

  const db = program.command('db').description('a private local MySQL/MariaDB server for this folder');
  db.command('start')
    .description('start a loopback-only server with data under .mldb/ (needs mariadbd or mysqld)')
    .action(async (_opts, cmd) => {
      const m = await import('./commands/db.js');
      await execute(cmd, { run: (ctx) => m.start(ctx), print: m.printStart });
    });
  db.command('stop')
    .description('stop the local server started by `mldb db start`')
    .action(async (_opts, cmd) => {
      const m = await import('./commands/db.js');
      await execute(cmd, { run: (ctx) => m.stop(ctx), print: m.printStop });
    });
  db.command('status')
    .description('which database mldb would use, and whether it answers')
    .action(async (_opts, cmd) => {
      const m = await import('./commands/db.js');
      await execute(cmd, { run: (ctx) => m.status(ctx), print: m.printStatus, exitCode: m.statusExitCode });
    });

  program
    .command('models')
    .description('list the named architectures with their parameter counts')
    .option('--size <N|HxW>', 'input size', '20')
    .option('--channels <1|3>', 'input channels', '1')
    .option('--classes <N>', 'number of classes', '10')
    .action(async (opts, cmd) => {
      const m = await import('./commands/models.js');
      await execute(cmd, { run: (ctx) => m.run(ctx, opts), print: m.print });
    });

  program
    .command('train')
    .description('train a named architecture on the train split of a table and save it')
    .option('--model <name>', 'architecture (see `mldb models`)')
    .option('--optimizer <name>', 'sgd|momentum|rmsprop|adagrad|adadelta|adam|adamax', 'adam')
    .option('--learning-rate <R>', 'learning rate', '0.001')
    .option('--epochs <N>', 'epochs', '10')
    .option('--batch-size <B>', 'batch size', '64')
    .option('--validation-split <F>', 'fraction of train rows held out by a seeded shuffle', '0.1')
    .option('--seed <S>', 'seed for initialisation, hold-out and shuffles', '1')
    .option('--patience <P>', 'stop after P epochs without a better val_loss (0: never)', '0')
    .option('--save <dir>', 'where to save the model (default: models/<table>-<model>-<time>)')
    .option('--backend <name>', 'auto|tensorflow|wasm|cpu', 'auto')
    .option(
      '--memory-budget <size>',
      'stream the rows when their tensors exceed this, e.g. 512M (default: MLDB_MEMORY_BUDGET or a quarter of RAM)',
    )
    .option('--workers <N>', 'split each batch over N threads, one core each (data-parallel; wasm/cpu)', '1')
    .option('--name <name>', 'a name for the run record')
    .option(
      '--min-accuracy <A>',
      `exit ${EXIT.BELOW_THRESHOLD} when the test accuracy ends below A (after recording the run)`,
    )
    .option('--tensorboard <dir>', 'write TensorBoard event logs (tensorflow backend only)')
    .action(async (opts, cmd) => {
      const m = await import('./commands/train.js');
      await execute(cmd, { run: (ctx) => m.run(ctx, opts), print: m.print, exitCode: m.exitCode });
    });

  program
    .command('evaluate')
    .description('measure a saved model on a split of a table: loss, accuracy, per-class scores, confusion matrix')
    .option('--model <dir>', 'the model folder written by `mldb train`')
    .option('--split <split>', 'train, validation or test', 'test')
    .option('--backend <name>', 'auto|tensorflow|wasm|cpu', 'auto')
    .option('--memory-budget <size>', 'stream the rows when their tensors exceed this (default: a quarter of RAM)')
    .addHelpText('after', '\nThe table is --table (or MLDB_TABLE) when given, else the one the model was trained on.')
    .action(async (opts, cmd) => {
      const m = await import('./commands/evaluate.js');
      const { setting } = await import('./config.js');
      const explicit = cmd.optsWithGlobals().table ?? setting('MLDB_TABLE');
      await execute(cmd, { run: (ctx) => m.run(ctx, opts, explicit), print: m.print });
    });

  program
    .command('predict <images...>')
    .description('classify image files with a saved model: label, confidence and the top k')
    .option('--model <dir>', 'the model folder written by `mldb train`')
    .option('--top <k>', 'how many labels to list per image', '3')
    .option('--backend <name>', 'auto|tensorflow|wasm|cpu', 'auto')
    .action(async (images, opts, cmd) => {
      const m = await import('./commands/predict.js');
      await execute(cmd, { run: (ctx) => m.run(ctx, images, opts), print: m.print, exitCode: m.exitCode });
    });

  program
    .command('runs [action] [ids...]')
    .description('the recorded training runs: `runs` lists, `runs show ID`, `runs compare ID ID…`')
    .option('--model <name>', 'only runs of this architecture')
    .option('--status <status>', 'only running, completed, failed or interrupted runs')
    .option('--experiment <name>', 'only runs of this experiment')
    .option('--limit <N>', 'at most N runs', '20')
    .addHelpText('after', '\n--table T (a global option) lists only the runs on table T.')
    .action(async (action, ids, opts, cmd) => {
      const m = await import('./commands/runs.js');
      const table = cmd.optsWithGlobals().table;
      await execute(cmd, { run: (ctx) => m.run(ctx, action, ids, { ...opts, table }), print: m.print });
    });

  program
    .command('experiment <plan>')
    .description('train every combination of a grid (JSON or YAML plan), record each, print a leaderboard; resumable')
    .option('--min-accuracy <A>', `exit ${EXIT.BELOW_THRESHOLD} when the best test accuracy ends below A`)
    .option('--dry-run', 'list the combinations and which are already done, train nothing')
    .action(async (plan, opts, cmd) => {
      const m = await import('./commands/experiment.js');
      await execute(cmd, { run: (ctx) => m.run(ctx, plan, opts), print: m.print, exitCode: m.exitCode });
    });

  program
    .command('report <id>')
    .description('PNG plots (curves, confusion matrix, misclassified images) and an index.html for one run')
    .option('--out <dir>', 'where to write (default: reports/run-<id>)')
    .action(async (id, opts, cmd) => {
      const m = await import('./commands/report.js');
      await execute(cmd, { run: (ctx) => m.run(ctx, id, opts), print: m.print });
    });

  program
    .command('demo')
    .description('start a server if needed, import the shipped sample digits, train simple_cnn on them and evaluate it')
    .option('--no-train', 'only import and show the sample')
    .action(async (opts, cmd) => {
      const m = await import('./commands/demo.js');
      await execute(cmd, { run: (ctx) => m.run(ctx, opts), print: m.print });
    });

  return program;
}

/** Turns any failure into one line on stderr and an exit code; stack traces only with --verbose. */
function reportError(e: unknown): number {
  if (e instanceof CommanderError) {
    // Commander has already printed its message (and help, for --help/--version).
    return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (isMldbError(e)) {
    process.stderr.write(`mldb: ${e.line}\n`);
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

export async function main(argv: string[] = process.argv): Promise<void> {
  verbose = argv.includes('--verbose');
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    process.exitCode = reportError(e);
  }
}
