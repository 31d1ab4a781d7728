import { PURPOSES } from '../../doctor/check';
import { command, type CommandSpec } from './spec';

/** What a machine has, and the demo. */

const DOCTOR = command({
  name: 'doctor',
  description: 'what this machine has and what mldb will use: server, engines, browser, database, privileges',
  options: [
    [
      '--for <purpose>',
      'only say whether this can run: main (the configured database), demo or tests',
      { choices: PURPOSES },
    ],
  ],
  load: () => import('../doctor.js'),
  step: (m, _args, opts) => ({ run: (ctx) => m.run(ctx, opts), print: m.print, exitCode: m.exitCode }),
});

const DEMO = command({
  name: 'demo',
  description: 'start a server if needed, import the shipped sample digits, train simple_cnn on them and evaluate it',
  options: [['--no-train', 'only import and show the sample']],
  load: () => import('../demo.js'),
  step: (m, _args, opts) => ({ run: (ctx) => m.run(ctx, opts), print: m.print }),
});

export const SETUP_COMMANDS: CommandSpec<unknown>[] = [DOCTOR, DEMO];
