import type { MldbError } from '../errors';
import type { TrainingOptionName } from '../ml/training-options';
import { TRAINING_FLAGS, trainingFlagName } from './shared/training-flags';

/**
 * The library's errors name fields as the API spells them and tag what went wrong; the CLI
 * speaks in flags and commands. This is the one place that translates, so src/db/ and src/ml/
 * stay free of CLI wording.
 */

/** API field → the flag that sets it. */
const FLAGS: Record<string, string> = {
  testFraction: '--test-fraction',
  validationFraction: '--validation-fraction',
  size: '--size',
  channels: '--channels',
  split: '--split',
  limit: '--limit',
  status: '--status',
  model: '--model',
  ...Object.fromEntries(
    (Object.keys(TRAINING_FLAGS) as TrainingOptionName[]).map((name) => [name, trainingFlagName(name)]),
  ),
  readParallelism: '--read-parallelism',
  minAccuracy: '--min-accuracy',
  top: '--top',
};

/** What to run next, by the error's reason (and the table or run it is about). */
const HINTS: Record<string, (subject: string) => string> = {
  'dataset-missing': (t) => `create it with \`mldb create-table ${t}\`, or list them with \`mldb tables\``,
  'dataset-missing-import': (t) => `create it with \`mldb create-table ${t}\`, or pass --create`,
  'dataset-exists': (t) => `use it, or remove it first with \`mldb drop-table ${t}\``,
  'dataset-empty': (t) => `import some with \`mldb import DIR --table ${t}\``,
  'no-train-rows': (t) => `import images first: mldb import DIR --table ${t}`,
  'run-missing': () => 'list runs with `mldb runs`',
  'row-missing': (t) => `list rows with \`mldb rows ${t}\``,
  'version-missing': (t) => `list them with \`mldb versions ${t}\``,
  'model-missing': () => 'list stored models with `mldb models`, or pass a model folder',
  'prediction-missing': () => 'list logged predictions with `mldb predictions`',
  'access-denied': () => 'check the user and password in MLDB_URL or MLDB_USER/MLDB_PASSWORD',
  'server-unreachable:default': () =>
    'set MLDB_URL=mysql://user:password@host:port/database, or run `mldb db start` for a local server',
  'server-unreachable:local-server': () =>
    'the local server stopped answering: run `mldb db stop` then `mldb db start`',
  'server-unreachable:flag': () => 'check that the server is running and that --url is right',
  'server-unreachable:env': () => 'check that the server is running and that MLDB_URL (from the environment) is right',
  'server-unreachable:dotenv': () => 'check that the server is running and that MLDB_URL (from .env) is right',
  'spider-missing': () =>
    'start a local one with `mldb db start --shards 2`, or point MLDB_URL at a MariaDB Spider head',
  'shards-unavailable': () => 'register more backend servers on the head, or ask for fewer shards',
  'schema-newer': () => 'upgrade mldb (npm install -g mldb@latest), or point MLDB_URL at another database',
};

function flagFor(field: string): string {
  return FLAGS[field] ?? `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * The one line the CLI prints for a library error. When the message is about a field (it starts
 * with the field's name), that name and any other camelCase field in it become flags:
 * "learningRate must be…" → "--learning-rate must be…". Messages about a plan file start with
 * the plan and keep its keys as written.
 */
export function cliLine(e: MldbError): string {
  let message = e.message;
  if (e.field && message.startsWith(`${e.field} `)) {
    message = flagFor(e.field) + message.slice(e.field.length);
    message = message.replace(/\b[a-z]+(?:[A-Z][a-z]*)+\b/g, (word) => (word in FLAGS ? flagFor(word) : word));
  }
  const hint = (e.reason && HINTS[e.reason]?.(e.subject ?? '')) ?? e.hint;
  return hint ? `${message}: ${hint}` : message;
}
