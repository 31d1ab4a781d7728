import { createProgress } from '../../src/ui/progress';

/** A progress display driven by a fake clock, its lines captured. */
async function driven(options: { document?: boolean }) {
  let now = 1_000_000;
  const lines: string[] = [];
  const progress = await createProgress('start', { ...options, clock: () => now, write: (l) => lines.push(l) });
  return { progress, lines, advance: (ms: number) => void (now += ms) };
}

describe('progress without a terminal', () => {
  test('plain: at most one line per 5 s, then the final line', async () => {
    const { progress, lines, advance } = await driven({});
    for (let s = 0; s < 20; s++) {
      progress.update(`step ${s} · ETA ${20 - s}s`);
      advance(1000);
    }
    progress.succeed('done');
    expect(lines).toEqual(['step 5 · ETA 15s', 'step 10 · ETA 10s', 'step 15 · ETA 5s', 'done']);
  });

  test('beside a --json document: sparse lines on stderr (one per 15 s), no final line', async () => {
    const { progress, lines, advance } = await driven({ document: true });
    for (let s = 0; s < 60; s++) {
      progress.update(`step ${s} · ETA ${60 - s}s`);
      advance(1000);
    }
    progress.log('epoch 1/1 …');
    progress.succeed('done');
    expect(lines).toEqual(['step 15 · ETA 45s', 'step 30 · ETA 30s', 'step 45 · ETA 15s', 'epoch 1/1 …']);
  });

  test('quiet: nothing', async () => {
    const lines: string[] = [];
    const progress = await createProgress('start', { quiet: true, write: (l) => lines.push(l) });
    progress.update('x');
    progress.succeed('y');
    expect(lines).toEqual([]);
  });
});
