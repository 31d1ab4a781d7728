import { ARCHITECTURES } from '../ml/architectures/registry';
import type { TrainingBackendName } from '../ml/backend-names';
import { openStepEngine, resolveWorkers, selectTrainingBackend } from '../ml/engines/select-engine';
import { tf } from '../ml/tf';
import { median } from './server';

export const BATCH = 64;

/** Images and one-hot labels, HWC, as the engines take them. */
export interface Rows {
  xs: Float32Array;
  ys: Float32Array;
  shape: [number, number, number];
  classes: number;
}

/** `batches` batches of uniform random images of `shape`, labels cycling through `classes`. */
export function randomRows(shape: [number, number, number], classes: number, batches = 4): Rows {
  const n = batches * BATCH;
  let s = 12345;
  const random = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const xs = Float32Array.from({ length: n * shape[0] * shape[1] * shape[2] }, random);
  const ys = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) ys[i * classes + (i % classes)] = 1;
  return { xs, ys, shape, classes };
}

/**
 * Training samples/s of `arch` on `backend` (its default --workers), on `rows`, for at least
 * `minSeconds` and `minBatches` after a warm-up batch: the median batch.
 */
export async function samplesPerSecond(
  arch: string,
  backendName: TrainingBackendName,
  rows: Rows,
  minBatches: number,
  minSeconds: number,
  o: { workers?: number; augment?: (xs: Float32Array, n: number) => Float32Array } = {},
): Promise<number> {
  const backend = await selectTrainingBackend(backendName);
  const model = ARCHITECTURES.get(arch)!.build(tf, { inputShape: rows.shape, numClasses: rows.classes, seed: 1 });
  const engine = await openStepEngine(model, backend, {
    architecture: arch,
    seed: 1,
    optimizer: 'adam',
    learningRate: 0.001,
    workers: o.workers ?? resolveWorkers('auto', backend.name),
    batchSize: BATCH,
  });
  const per = rows.shape[0] * rows.shape[1] * rows.shape[2];
  const available = Math.floor(rows.xs.length / per / BATCH);
  const step = async (i: number) => {
    const b = i % available;
    const xs = rows.xs.slice(b * BATCH * per, (b + 1) * BATCH * per);
    const ys = rows.ys.slice(b * BATCH * rows.classes, (b + 1) * BATCH * rows.classes);
    await engine.step(o.augment ? o.augment(xs, BATCH) : xs, ys, BATCH);
  };
  try {
    await step(0); // warm-up: sessions, kernel selection, weight upload
    const times: number[] = [];
    const start = performance.now();
    for (let i = 1; times.length < minBatches || performance.now() - start < minSeconds * 1000; i++) {
      const t = performance.now();
      await step(i);
      times.push(performance.now() - t);
    }
    return (BATCH * 1000) / median(times);
  } finally {
    await engine.close();
    model.dispose();
  }
}
