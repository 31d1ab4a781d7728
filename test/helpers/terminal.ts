import { spawn } from 'node:child_process';
import os from 'node:os';
import { BIN } from './cli';
import { waitFor } from './serve';

/**
 * The built CLI on a real terminal: util-linux `script` gives it a pseudo-terminal, so its stdin
 * and stderr are TTYs as in a user's shell. `answer` is typed once `prompt` has been shown (typed
 * earlier, the terminal would hand it over before the question and then end the input).
 */
export async function mldbOnTerminal(
  args: string[],
  env: Record<string, string>,
  prompt: RegExp,
  answer: string,
): Promise<{ code: number | null; output: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: os.tmpdir(),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: os.tmpdir(), TERM: 'dumb', ...env },
    stdio: 'pipe',
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      done = true;
      resolve(code);
    }),
  );
  await waitFor(async () => done || prompt.test(output), `the question ${prompt}`);
  if (!done) child.stdin.write(`${answer}\n`);
  const code = await exited;
  child.stdin.destroy();
  return { code, output };
}
