import { command, type CommandSpec } from './spec';

/** `mldb db`: the private local server of this folder. */

const DB_START = command({
  name: 'db start',
  description: 'start a loopback-only server with data under .mldb/ (needs mariadbd or mysqld)',
  options: [['--shards <N>', 'a MariaDB Spider head and N backend servers (needs mariadb-plugin-spider)']],
  load: () => import('../db.js'),
  step: (m, _args, opts) => ({ run: (ctx) => m.start(ctx, opts), print: m.printStart }),
});

const DB_STOP = command({
  name: 'db stop',
  description: 'stop the local server (and its shard servers) started by `mldb db start`',
  load: () => import('../db.js'),
  step: (m) => ({ run: (ctx) => m.stop(ctx), print: m.printStop }),
});

const DB_STATUS = command({
  name: 'db status',
  description: 'which database mldb would use, and whether it answers',
  load: () => import('../db.js'),
  step: (m) => ({ run: (ctx) => m.status(ctx), print: m.printStatus, exitCode: m.statusExitCode }),
});

export const LOCAL_SERVER_COMMANDS: CommandSpec<unknown>[] = [DB_START, DB_STOP, DB_STATUS];
