/** Flags whose whole value is a secret. */
const SECRET_FLAGS = new Set(['--token']);
/** Flags whose value is a URL that may carry a password (mysql://user:password@host). */
const URL_FLAGS = new Set(['--url']);

function withoutPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}

/** The command line with every secret replaced by `***`; the same array when it holds none. */
export function scrubbedArguments(argv: readonly string[]): readonly string[] {
  let changed = false;
  const out = argv.map((arg, i) => {
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), true] : [arg];
    const previous = argv[i - 1];
    let scrubbed = arg;
    if (inline && SECRET_FLAGS.has(flag)) scrubbed = `${flag}=***`;
    else if (inline && URL_FLAGS.has(flag)) scrubbed = `${flag}=${withoutPassword(arg.slice(flag.length + 1))}`;
    else if (SECRET_FLAGS.has(previous)) scrubbed = '***';
    else if (URL_FLAGS.has(previous)) scrubbed = withoutPassword(arg);
    if (scrubbed !== arg) changed = true;
    return scrubbed;
  });
  return changed ? out : argv;
}

/**
 * Takes a secret given on the command line (`--url`'s password, `--token`) out of the process
 * list as soon as it is read, as mysql's client does with `-p`: every local user can read
 * /proc/PID/cmdline for the life of the process. Setting process.title rewrites the memory the
 * kernel shows there (libuv on Linux and macOS); the secret was still visible for the moment
 * before, which is why `--token` keeps its warning.
 */
export function hideSecretsFromProcessList(argv: readonly string[] = process.argv): void {
  const scrubbed = scrubbedArguments(argv);
  if (scrubbed !== argv) process.title = scrubbed.join(' ');
}
