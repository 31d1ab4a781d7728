import { RUN_STATUSES } from '../../db/enums';
import { EXIT } from '../../errors';
import { command, str, type CommandSpec } from './spec';

/** Recorded runs, experiments over a grid, and reports of a run. */

const RUNS = command({
  name: 'runs [action] [ids...]',
  description: 'the recorded training runs: `runs` lists, `runs show ID`, `runs compare ID ID…`',
  options: [
    ['--model <name>', 'only runs of this architecture'],
    ['--status <status>', 'only runs in this state', { choices: RUN_STATUSES }],
    ['--experiment <name>', 'only runs of this experiment'],
    ['--limit <N>', 'at most N runs', { default: '20' }],
  ],
  helpAfter: '\n--table T (a global option) lists only the runs on table T.',
  load: () => import('../runs.js'),
  step: (m, [action, ids], opts, global) => ({
    run: (ctx) => m.run(ctx, str(action), ids as string[], { ...opts, table: global.table }),
    print: m.print,
  }),
});

const EXPERIMENT = command({
  name: 'experiment <plan>',
  description:
    "run a plan's trials (a grid, or random/tpe over ranges) as one of any number of workers sharing the " +
    'database; record each, print a leaderboard chosen on validation; resumable',
  options: [
    ['--min-accuracy <A>', `exit ${EXIT.BELOW_THRESHOLD} when the selected trial's test accuracy is below A`],
    ['--dry-run', 'list the trials and which are already done, train nothing'],
    ['--wait <seconds>', 'with nothing left to claim, wait this long for trials other workers run (default 0)'],
    ['--grace <seconds>', 'a running trial without a heartbeat for this long goes back to the queue (default 60)'],
  ],
  load: () => import('../experiment.js'),
  step: (m, [plan], opts) => ({
    run: (ctx) => m.run(ctx, str(plan)!, opts),
    print: m.print,
    exitCode: m.exitCode,
  }),
});

const REPORT = command({
  name: 'report <id>',
  description: 'PNG plots (curves, confusion matrix, misclassified images) and an index.html for one run',
  options: [['--out <dir>', 'where to write (default: reports/run-<id>)']],
  load: () => import('../report.js'),
  step: (m, [id], opts) => ({ run: (ctx) => m.run(ctx, str(id)!, opts), print: m.print }),
});

export const RUN_COMMANDS: CommandSpec<unknown>[] = [RUNS, EXPERIMENT, REPORT];
