import { SPLITS } from '../../db/enums';
import { BACKENDS } from '../../ml/backend-names';
import { ENGINES } from '../../ml/engine-names';
import { command, str, type CommandSpec, type OptionSpec } from './spec';

/** Curation: edits of a table's rows, and its versions (docs/curation.md). */

/** What every row edit takes besides its selection. */
const EDIT_OPTIONS: OptionSpec[] = [
  ['--dry-run', 'say which rows would change, change nothing'],
  ['-y, --yes', 'do not ask for confirmation (asked on a terminal above a handful of rows)'],
];

const RELABEL = command({
  name: 'relabel <table> <ids...>',
  description: 'give rows a new label (one new version; all rows or none)',
  options: [['--to <label>', 'the new label (created if the table has none of it yet)'], ...EDIT_OPTIONS],
  load: () => import('../relabel.js'),
  step: (m, [table, ids], opts) => ({ run: (ctx) => m.run(ctx, str(table)!, ids as string[], opts), print: m.print }),
});

const RM_ROWS = command({
  name: 'rm-rows <table> [ids...]',
  description: 'remove rows by id, --source GLOB or --label (one new version; older versions keep them until purge)',
  options: [
    ['--source <glob>', 'every row whose stored source path matches (* any characters, ? one)'],
    ['--label <label>', 'every row of this label'],
    ...EDIT_OPTIONS,
  ],
  load: () => import('../rm-rows.js'),
  step: (m, [table, ids], opts) => ({ run: (ctx) => m.run(ctx, str(table)!, ids as string[], opts), print: m.print }),
});

const MOVE_SPLIT = command({
  name: 'move-split <table> <ids...>',
  description: 'move rows to another split (one new version; all rows or none)',
  options: [['--to <split>', 'train, validation or test', { choices: SPLITS }], ...EDIT_OPTIONS],
  load: () => import('../move-split.js'),
  step: (m, [table, ids], opts) => ({ run: (ctx) => m.run(ctx, str(table)!, ids as string[], opts), print: m.print }),
});

const VERSIONS = command({
  name: 'versions [table]',
  description: "a table's versions: what made each (import, edit, promote), rows, when, by whom, tags",
  load: () => import('../versions.js'),
  step: (m, [table]) => ({ run: (ctx) => m.run(ctx, str(table)), print: m.print }),
});

const TAG = command({
  name: 'tag <table> <name> [version]',
  description: 'name a version of a table (default: the latest); TABLE@NAME then reads it',
  load: () => import('../tag.js'),
  step: (m, [table, name, version]) => ({
    run: (ctx) => m.run(ctx, str(table)!, str(name)!, str(version)),
    print: m.print,
  }),
});

const PURGE = command({
  name: 'purge <table>',
  description: 'forget the versions before one (their history, removed rows included) and say what that frees',
  options: [
    ['--before <version>', 'the earliest version to keep readable (a number or tag)'],
    ['--dry-run', 'say what would be freed, change nothing'],
    ['-y, --yes', 'do not ask for confirmation (needed when not on a terminal)'],
  ],
  load: () => import('../purge.js'),
  step: (m, [table], opts) => ({ run: (ctx) => m.run(ctx, str(table)!, opts), print: m.print }),
});

const DIFF = command({
  name: 'diff <from> <to>',
  description: 'what changed between two versions of a table (TABLE@N, TABLE@TAG, or TABLE: the current rows)',
  options: [['--rows', 'list the rows added, removed, relabelled and moved']],
  load: () => import('../diff.js'),
  step: (m, [a, b], opts) => ({ run: (ctx) => m.run(ctx, str(a)!, str(b)!, opts), print: m.print }),
});

const SUSPECTS = command({
  name: 'suspects <table>',
  description: 'rows whose label a model most confidently contradicts (confident learning), worst first',
  options: [
    ['--model <ref>', 'a model folder, run:ID, or a stored model (id, name, name@version)'],
    ['--limit <N>', 'at most N rows', { default: '20' }],
    ['--backend <name>', 'compute backend', { default: 'auto', choices: BACKENDS }],
    [
      '--engine <name>',
      'what runs the model: onnxruntime when installed, else tfjs (auto)',
      { default: 'auto', choices: ENGINES },
    ],
    ['--memory-budget <size>', 'stream the rows when their tensors exceed this (default: a quarter of RAM)'],
    ['--read-parallelism <K>', 'connections reading the rows at once from one server (default: the cores, ≤ 4)'],
  ],
  helpAfter:
    '\nEvery split is scored; TABLE@N or TABLE@TAG looks at that version. Each row says its split and ' +
    'whether the model trained on it (then its confidence is optimistic).',
  load: () => import('../suspects.js'),
  step: (m, [table], opts) => ({ run: (ctx) => m.run(ctx, str(table)!, opts), print: m.print }),
});

export const CURATION_COMMANDS: CommandSpec<unknown>[] = [
  RELABEL,
  RM_ROWS,
  MOVE_SPLIT,
  VERSIONS,
  TAG,
  PURGE,
  DIFF,
  SUSPECTS,
];
