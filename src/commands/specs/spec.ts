import type { CommandContext } from '../context';
import type { Output } from '../../ui/output';

/**
 * What the command-line program knows of a command before it runs: its words, flags and help, and
 * how its module (imported only when it runs, so `--help` never loads TensorFlow) is called. The
 * commands are declared by group beside this file; cli.ts builds commander's program from them.
 */

export interface GlobalFlags {
  url?: string;
  table?: string;
  json?: boolean;
  verbose?: boolean;
}

export type StepOf<T> = {
  run: (ctx: CommandContext) => Promise<T>;
  print: (result: T, out: Output) => void;
  exitCode?: (result: T) => number;
  /** The command already wrote JSON lines (NDJSON): its --json result is one more line, not a document. */
  jsonLines?: (result: T) => boolean;
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry's step has its own result type
export type Step = StepOf<any>;

export type Positional = string | string[] | undefined;

/**
 * `shown`: a default that --help states but the CLI does not set, because the layer below owns it
 * (TRAINING_DEFAULTS, COMMAND_DEFAULTS): the flag stays undefined when it is not given.
 */
export type OptionSpec = [
  flags: string,
  description: string,
  extra?: { default?: string; shown?: string | number; choices?: readonly string[] },
];

/** One command of the table: its words, flags, the module that runs it, and how arguments reach it. */
export interface CommandSpec<M> {
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

/** Checks one entry's step against its module's types, then stores it beside the others. */
export function command<M>(spec: CommandSpec<M>): CommandSpec<unknown> {
  return spec as CommandSpec<unknown>;
}

export const str = (v: Positional) => v as string | undefined;
