import { MicroBatcher } from '../../src/serve/micro-batcher';
import { parseSince } from '../../src/commands/predictions';

/** Lets promise callbacks and the batcher's setImmediate run. */
async function ticks(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

test('inputs that arrive together share one call; while the model is busy the next batch grows', async () => {
  const calls: number[][] = [];
  let busy = 0;
  let release: (() => void)[] = [];
  const batcher = new MicroBatcher<number, number>(
    async (xs) => {
      calls.push(xs);
      busy++;
      await new Promise<void>((r) => release.push(r));
      busy--;
      return xs.map((x) => x * 10);
    },
    { maxBatch: 4, windowMs: 0, idle: () => 1 - busy },
  );
  const first = [1, 2, 3].map((x) => batcher.submit(x));
  await ticks();
  expect(calls).toEqual([[1, 2, 3]]);
  // Arrivals while the only model copy is busy wait, then go out together, at most maxBatch at once.
  const later = [4, 5, 6, 7, 8, 9].map((x) => batcher.submit(x));
  await ticks();
  expect(calls).toHaveLength(1);
  release.shift()!();
  expect(await Promise.all(first)).toEqual([10, 20, 30]);
  await ticks();
  expect(calls[1]).toEqual([4, 5, 6, 7]);
  release.shift()!();
  await ticks();
  expect(calls[2]).toEqual([8, 9]);
  release.shift()!();
  expect(await Promise.all(later)).toEqual([40, 50, 60, 70, 80, 90]);
  release = [];
});

test('a failing model call fails its own batch only', async () => {
  const batcher = new MicroBatcher<number, number>(
    (xs) => {
      if (xs.includes(0)) throw new Error('boom');
      return xs;
    },
    { maxBatch: 1, windowMs: 0 },
  );
  const results = await Promise.allSettled([batcher.submit(0), batcher.submit(1)]);
  expect(results[0].status).toBe('rejected');
  expect(results[1]).toEqual({ status: 'fulfilled', value: 1 });
});

test('--since takes dates and durations back from now, and refuses the rest', () => {
  const now = Date.parse('2026-11-21T12:00:00Z');
  expect(parseSince('2h', now)!.toISOString()).toBe('2026-11-21T10:00:00.000Z');
  expect(parseSince('30m', now)!.toISOString()).toBe('2026-11-21T11:30:00.000Z');
  expect(parseSince('7d', now)!.toISOString()).toBe('2026-11-14T12:00:00.000Z');
  expect(parseSince('2026-11-20T08:00:00Z', now)!.toISOString()).toBe('2026-11-20T08:00:00.000Z');
  expect(parseSince(undefined)).toBeUndefined();
  for (const bad of ['yesterday', '2h ago', '', '2026-13-45']) expect(() => parseSince(bad, now)).toThrow(/--since/);
});
