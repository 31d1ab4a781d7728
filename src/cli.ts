import { Command, CommanderError, Option } from 'commander';
import type { ConfigOverrides } from './config';
import { cliLine } from './commands/cli-wording';
import { EXIT, isMldbError } from './errors';
import { hideSecretsFromProcessList } from './process-list';
import { fromFileSystemError } from './file-targets';
import { createContext } from './commands/context';
import { createOutput } from './ui/output';
import type { CommandSpec, GlobalFlags, OptionSpec, Positional, StepOf } from './commands/specs/spec';
import { DATASET_COMMANDS } from './commands/specs/datasets';
import { CURATION_COMMANDS } from './commands/specs/curation';
import { LOCAL_SERVER_COMMANDS } from './commands/specs/local-server';
import { TRAINING_COMMANDS } from './commands/specs/training';
import { SERVING_COMMANDS } from './commands/specs/serving';
import { RUN_COMMANDS } from './commands/specs/runs';
import { SETUP_COMMANDS } from './commands/specs/setup';

/**
 * The command-line program. It only declares commands and flags: each command lives in its own
 * module under commands/, imported when it runs, so `mldb --help` and the dataset commands never
 * load TensorFlow. This is the only place that sets the exit code.
 */

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

/** Every command, in the order --help lists them, declared by group in commands/specs/. */
export const COMMANDS: CommandSpec<unknown>[] = [
  ...DATASET_COMMANDS,
  ...CURATION_COMMANDS,
  ...LOCAL_SERVER_COMMANDS,
  ...TRAINING_COMMANDS,
  ...SERVING_COMMANDS,
  ...RUN_COMMANDS,
  ...SETUP_COMMANDS,
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
