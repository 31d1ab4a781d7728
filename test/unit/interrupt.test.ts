import { spawn } from 'node:child_process';
import path from 'node:path';

const INTERRUPT = path.resolve(__dirname, '..', '..', 'dist', 'ui', 'interrupt.js');

/** A process whose work never reaches a safe point: it only ends if the signal ends it. */
function stuckWorker(graceMs: number) {
  const script = `
    const { watchInterrupts } = require(${JSON.stringify(INTERRUPT)});
    watchInterrupts(() => process.stdout.write('asked to stop\\n'), { graceMs: ${graceMs} });
    setInterval(() => {}, 1000); // the work that never finishes
    process.stdout.write('ready\\n');
  `;
  return spawn(process.execPath, ['-e', script], { stdio: 'pipe' });
}

function exited(child: ReturnType<typeof spawn>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

function printed(child: ReturnType<typeof spawn>, text: string): Promise<void> {
  let seen = '';
  return new Promise((resolve) =>
    child.stdout!.on('data', (d) => {
      seen += d;
      if (seen.includes(text)) resolve();
    }),
  );
}

describe('a signal always ends mldb', () => {
  test('one SIGTERM to work that never stops: exit 130 after the grace, with one line', async () => {
    const child = stuckWorker(300);
    const done = exited(child);
    await printed(child, 'ready');
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stdout).toContain('asked to stop');
    expect(r.stderr).toBe('mldb: not stopped 0.3 s after SIGTERM: exiting now\n');
  });

  test('a second signal exits at once, whatever the grace', async () => {
    const child = stuckWorker(600_000);
    const done = exited(child);
    await printed(child, 'ready');
    child.kill('SIGINT');
    await printed(child, 'asked to stop');
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toBe('');
  });
});
