import { MlDb } from '../mldb';
import { ARCHITECTURES } from '../ml/architectures/registry';
import { selectBackend, type BackendName } from '../ml/backend';
import { dataParallelStepper, localStepper } from '../ml/parallel/data-parallel';
import { tf } from '../ml/tf';
import { augmenter, ORIGINAL_AUGMENTATION } from '../ml/augment';
import { renderTable } from '../ui/table';
import { median } from './server';

/** PyTorch 1.13 (Debian's python3-torch), 2 threads, simple_cnn at 20×20, batch 64, on this kind of machine. */
export const NATIVE_REFERENCE_SAMPLES_PER_S = 2400;
const BATCH = 64;

/** Trains `arch` on real rows for at least `minSeconds` (and `minBatches`), after a warm-up batch. */
async function samplesPerSecond(
  arch: string,
  xsAll: Float32Array,
  ysAll: Float32Array,
  shape: [number, number, number],
  classes: number,
  minBatches: number,
  minSeconds: number,
  workers = 1,
  augment?: (xs: Float32Array, n: number) => Float32Array,
): Promise<number> {
  const model = ARCHITECTURES.get(arch)!.build(tf, { inputShape: shape, numClasses: classes, seed: 1 });
  model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const stepper =
    workers > 1
      ? await dataParallelStepper(model, {
          architecture: arch,
          seed: 1,
          optimizer: 'adam',
          learningRate: 0.001,
          backend: tf.getBackend() as BackendName,
          workers,
        })
      : localStepper(model);
  const per = shape[0] * shape[1] * shape[2];
  const available = Math.floor(xsAll.length / per / BATCH);
  const step = async (i: number) => {
    const b = i % available;
    const xs = xsAll.slice(b * BATCH * per, (b + 1) * BATCH * per);
    await stepper.step(
      augment ? augment(xs, BATCH) : xs,
      ysAll.slice(b * BATCH * classes, (b + 1) * BATCH * classes),
      BATCH,
    );
  };
  try {
    await step(0); // warm-up: kernel compilation, weight upload
    const times: number[] = [];
    const start = performance.now();
    for (let i = 1; times.length < minBatches || performance.now() - start < minSeconds * 1000; i++) {
      const t = performance.now();
      await step(i);
      times.push(performance.now() - t);
    }
    return (BATCH * 1000) / median(times);
  } finally {
    await stepper.close();
    model.optimizer.dispose();
    model.dispose();
  }
}

/**
 * Training samples/s per architecture per backend at 20×20×1, batch 64, on the rows of filedata.
 * The pure-JS cpu backend is the baseline measured in the same run.
 */
export async function trainSpeedBench(url: string, dataDir: string, archs = [...ARCHITECTURES.keys()]): Promise<void> {
  const mldb = new MlDb({ url, table: 'bench_train' });
  try {
    await mldb.insertFolder(dataDir, { create: true });
    const drawn = await mldb.drawTensors('bench_train');
    const xs = drawn.xs.dataSync() as Float32Array;
    const ys = drawn.ys.dataSync() as Float32Array;
    const shape = drawn.xs.shape.slice(1) as [number, number, number];
    tf.dispose([drawn.xs, drawn.ys]);
    const backends: BackendName[] = ['cpu', 'wasm'];
    try {
      require.resolve('@tensorflow/tfjs-node');
      backends.push('tensorflow');
    } catch {
      console.log('(tensorflow backend not installed: measured cpu and wasm)');
    }
    const results = new Map<string, Partial<Record<BackendName, number>>>();
    for (const backend of backends) {
      await selectBackend(backend);
      for (const arch of archs) {
        const slow = backend === 'cpu';
        const sps = await samplesPerSecond(arch, xs, ys, shape, drawn.labels.length, slow ? 2 : 5, slow ? 5 : 10);
        results.set(arch, { ...results.get(arch), [backend]: sps });
        console.log(`  ${arch} on ${backend}: ${sps.toFixed(1)} samples/s`);
      }
    }
    const rows = archs.map((a) => {
      const r = results.get(a)!;
      // The native reference was measured for simple_cnn only.
      return [
        a,
        r.cpu!.toFixed(1),
        r.wasm!.toFixed(1),
        `${(r.wasm! / r.cpu!).toFixed(1)}×`,
        ...(r.tensorflow ? [r.tensorflow.toFixed(1)] : []),
        a === 'simple_cnn' ? `${(r.wasm! / NATIVE_REFERENCE_SAMPLES_PER_S).toFixed(3)}×` : '-',
      ];
    });
    console.log(`\ntraining samples/s at ${shape.join('×')}, batch ${BATCH} (median batch time after a warm-up batch)`);
    console.log(
      renderTable(
        [
          'architecture',
          'cpu (baseline)',
          'wasm',
          'wasm / cpu',
          ...(backends.includes('tensorflow') ? ['tensorflow'] : []),
          `wasm / native (PyTorch ${NATIVE_REFERENCE_SAMPLES_PER_S})`,
        ],
        rows,
        ['left', 'right', 'right', 'right', ...(backends.includes('tensorflow') ? ['right' as const] : []), 'right'],
      ),
    );
    const sc = results.get('simple_cnn');
    if (sc?.wasm)
      console.log(
        `simple_cnn on wasm: ${sc.wasm.toFixed(0)} samples/s — target ≥ 250 (≈0.1× native): ` +
          `${sc.wasm >= 250 ? 'met' : 'NOT met'}`,
      );
    // --augment: the original's random warp of every image, per batch, against the same without.
    await selectBackend('wasm');
    for (const arch of archs.filter((a) => ['simple_cnn', 'lenet5'].includes(a))) {
      const shapeOf = { height: shape[0], width: shape[1], channels: shape[2] as 1 | 3 };
      const augment = augmenter(ORIGINAL_AUGMENTATION, shapeOf, 1);
      // Alternated, three times each (median): the machine's speed drifts more than the difference.
      const rates: Record<'with' | 'without', number[]> = { with: [], without: [] };
      for (let r = 0; r < 3; r++) {
        rates.without.push(await samplesPerSecond(arch, xs, ys, shape, drawn.labels.length, 5, 5));
        rates.with.push(await samplesPerSecond(arch, xs, ys, shape, drawn.labels.length, 5, 5, 1, augment));
      }
      const [withAugment, without] = [median(rates.with), median(rates.without)];
      console.log(
        `${arch} on wasm with --augment: ${withAugment.toFixed(1)} samples/s against ${without.toFixed(1)}: ` +
          `an epoch takes ${(without / withAugment).toFixed(2)}× as long (target ≤ 1.30×)`,
      );
    }
    // Data-parallel: each batch split over two threads (--workers 2), against one thread above.
    await selectBackend('wasm');
    for (const arch of archs.filter((a) => ['simple_cnn', 'resnet_small', 'big_xception'].includes(a))) {
      const two = await samplesPerSecond(arch, xs, ys, shape, drawn.labels.length, 5, 10, 2);
      const one = results.get(arch)!.wasm!;
      console.log(
        `${arch} on wasm with --workers 2: ${two.toFixed(1)} samples/s (${(two / one).toFixed(2)}× one ` +
          `thread${arch === 'simple_cnn' ? `, ${(two / NATIVE_REFERENCE_SAMPLES_PER_S).toFixed(3)}× native` : ''})`,
      );
    }
  } finally {
    await mldb.close();
  }
}
