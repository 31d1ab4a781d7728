import { DEFAULT_SPLIT_FRACTIONS, SPLITS } from '../../db/enums';
import { COMMAND_DEFAULTS } from '../shared/defaults';
import { LAYOUTS } from '../../ingest/layout';
import { RESIZE_MODES } from '../../image-shape';
import { command, str, type CommandSpec, type OptionSpec } from './spec';

/** Dataset tables: create, drop, list, show, rows, import, export. */

const SHAPE_OPTIONS: OptionSpec[] = [
  ['--size <N|HxW>', "image size every image is stored at (default: the first image's)"],
  ['--channels <1|3>', "grayscale (1) or RGB (3) (default: the first image's)", { choices: ['1', '3'] }],
];

const RESIZE_HELP =
  'images of another aspect ratio: stretch, crop (largest centred region) or pad (black bars) (default: stretch)';

const CREATE_TABLE = command({
  name: 'create-table [name]',
  description: 'create a dataset table (name defaults to --table / MLDB_TABLE / "images")',
  options: [
    ...SHAPE_OPTIONS,
    ['--resize <mode>', RESIZE_HELP, { choices: RESIZE_MODES }],
    [
      '--test-fraction <F>',
      'fraction of images assigned to the test split',
      { default: String(DEFAULT_SPLIT_FRACTIONS.test) },
    ],
    [
      '--validation-fraction <F>',
      'fraction assigned to the validation split',
      { default: String(DEFAULT_SPLIT_FRACTIONS.validation) },
    ],
    ['--shards <N|all>', 'on a MariaDB Spider head: spread the table over N (or all) of its servers'],
  ],
  load: () => import('../create-table.js'),
  step: (m, [name], opts) => ({ run: (ctx) => m.run(ctx, str(name), opts), print: m.print }),
});

const DROP_TABLE = command({
  name: 'drop-table [name]',
  description: 'drop a dataset table and its rows (asks on a terminal; --yes otherwise)',
  options: [['-y, --yes', 'do not ask for confirmation']],
  load: () => import('../drop-table.js'),
  step: (m, [name], opts) => ({ run: (ctx) => m.run(ctx, str(name), opts), print: m.print }),
});

const TABLES = command({
  name: 'tables',
  description: 'list dataset tables: rows, labels, shape, size, created',
  load: () => import('../tables.js'),
  step: (m) => ({ run: (ctx) => m.run(ctx), print: m.print }),
});

const SHOW = command({
  name: 'show [name]',
  description: 'counts per label and split, shape and sizes of one table',
  load: () => import('../show.js'),
  step: (m, [name]) => ({ run: (ctx) => m.run(ctx, str(name)), print: m.print }),
});

const ROWS = command({
  name: 'rows [name]',
  description: 'list rows without their images: id, label, split, source, hash, bytes',
  options: [
    ['--label <label>', 'only this label'],
    ['--split <split>', 'only this split', { choices: SPLITS }],
    ['--limit <N>', 'at most N rows', { default: '20' }],
    ['--after <id>', 'rows after this id (next page)'],
  ],
  load: () => import('../rows.js'),
  step: (m, [name], opts) => ({ run: (ctx) => m.run(ctx, str(name), opts), print: m.print }),
});

const IMPORT = command({
  name: 'import <source>',
  description:
    'import DIR/<label>/<images> (or train|validation|test/<label>/…), a tar/tar.gz/zip archive, or - (a tar ' +
    'stream on stdin) into the table (idempotent, resumable); --watch keeps importing files as they arrive',
  options: [
    ['--create', 'create the table if it does not exist'],
    ...SHAPE_OPTIONS,
    ['--test-fraction <F>', `with --create: fraction for the test split (default ${DEFAULT_SPLIT_FRACTIONS.test})`],
    [
      '--validation-fraction <F>',
      `with --create: fraction for the validation split (default ${DEFAULT_SPLIT_FRACTIONS.validation})`,
    ],
    ['--resize <mode>', `with --create: ${RESIZE_HELP}`, { choices: RESIZE_MODES }],
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
  load: () => import('../import.js'),
  step: (m, [source], opts, global) => ({
    run: (ctx) => m.run(ctx, str(source)!, { ...opts, table: global.table }),
    print: m.print,
    exitCode: m.exitCode,
    jsonLines: (r) => 'watch' in r,
  }),
});

const EXPORT = command({
  name: 'export <args...>',
  usage: '[table] <dir> [options]',
  description: 'write DIR/<label>/<file> with the original bytes of each row',
  options: [
    ['--split <split>', 'only this split', { choices: SPLITS }],
    ['--label <label>', 'only this label'],
  ],
  load: () => import('../export.js'),
  step: (m, [args], opts) => ({ run: (ctx) => m.run(ctx, args as string[], opts), print: m.print }),
});

export const DATASET_COMMANDS: CommandSpec<unknown>[] = [CREATE_TABLE, DROP_TABLE, TABLES, SHOW, ROWS, IMPORT, EXPORT];
