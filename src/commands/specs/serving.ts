import { BACKENDS } from '../../ml/backend-names';
import { ENGINES } from '../../ml/engine-names';
import { COMMAND_DEFAULTS } from '../shared/defaults';
import { command, str, type CommandSpec } from './spec';

/** Predictions: one-off, as a service, the dashboard, and the prediction log. */

const PREDICT = command({
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
  load: () => import('../predict.js'),
  step: (m, [images], opts) => ({
    run: (ctx) => m.run(ctx, (images as string[] | undefined) ?? [], opts),
    print: m.print,
    exitCode: m.exitCode,
    jsonLines: (r) => 'watch' in r,
  }),
});

const SERVE = command({
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
    ['--max-logged-input <size>', 'with --log-inputs: larger inputs are logged without their bytes', { default: '1M' }],
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
  load: () => import('../serve.js'),
  step: (m, _args, opts) => ({ run: (ctx) => m.run(ctx, opts), print: m.print, exitCode: m.exitCode }),
});

const UI = command({
  name: 'ui',
  description:
    'a web dashboard of the database: datasets with their images, versions, diffs and suspects, runs and their ' +
    'curves, experiments, models, the prediction log',
  options: [
    [
      '--host <address>',
      'address to listen on (not loopback: anyone who reaches it can read the database)',
      { default: '127.0.0.1' },
    ],
    ['--port <N>', 'port (0: any free one)', { default: '8090' }],
    [
      '--token <secret>',
      'require Authorization: Bearer <secret> and allow label corrections and row edits (default: MLDB_UI_TOKEN); ' +
        'other users see it in the process list, so prefer the variable or --token-file',
    ],
    ['--token-file <file>', 'the token, from the first line of this file'],
  ],
  load: () => import('../ui.js'),
  step: (m, _args, opts) => ({ run: (ctx) => m.run(ctx, opts), print: m.print }),
});

const PREDICTIONS = command({
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
  load: () => import('../predictions.js'),
  step: (m, [action], opts, global) => ({
    run: (ctx) => m.run(ctx, str(action), { ...opts, table: global.table }),
    print: m.print,
  }),
});

export const SERVING_COMMANDS: CommandSpec<unknown>[] = [PREDICT, SERVE, UI, PREDICTIONS];
