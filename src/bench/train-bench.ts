import { MlDb } from '../mldb';
import { ARCHITECTURES } from '../ml/architectures/registry';
import { selectBackend, type BackendName } from '../ml/backend';
import { dataParallelStepper, localStepper } from '../ml/parallel/data-parallel';
import { tf } from '../ml/tf';
import { augmenter, ORIGINAL_AUGMENTATION } from '../ml/augment';
import { forwardFlops } from '../ml/flops';
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
 * What the wasm backend itself reaches on one core, GFLOP/s: single large ops of the kinds
 * training spends its time in (matMuls, convolutions), the best of a few runs each; the ceiling
 * is the fastest of them.
 */
export async function wasmCeiling(): Promise<{ best: number; ops: Record<string, number> }> {
  await selectBackend('wasm');
  const gflops = (flops: number, op: () => tf.Tensor) => {
    tf.tidy(() => op().dataSync()); // warm-up
    let fastest = Infinity;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      tf.tidy(() => op().dataSync());
      fastest = Math.min(fastest, performance.now() - t0);
    }
    return flops / (fastest / 1000) / 1e9;
  };
  const ops: Record<string, number> = {};
  tf.tidy(() => {
    const a = tf.randomUniform([1024, 1024]);
    const b = tf.randomUniform([256, 2048]);
    const c = tf.randomUniform([2048, 512]);
    const x = tf.randomUniform([64, 20, 20, 16]) as tf.Tensor4D;
    const k = tf.randomUniform([7, 7, 16, 16]) as tf.Tensor4D;
    const x2 = tf.randomUniform([64, 28, 28, 64]) as tf.Tensor4D;
    const k2 = tf.randomUniform([3, 3, 64, 64]) as tf.Tensor4D;
    ops['matMul 1024×1024×1024'] = gflops(2 * 1024 ** 3, () => tf.matMul(a, a));
    ops['matMul 256×2048×512'] = gflops(2 * 256 * 2048 * 512, () => tf.matMul(b, c));
    ops['conv 7×7 16→16 at 20×20, batch 64'] = gflops(2 * 49 * 16 * 16 * 400 * 64, () => tf.conv2d(x, k, 1, 'same'));
    ops['conv 3×3 64→64 at 28×28, batch 64'] = gflops(2 * 9 * 64 * 64 * 784 * 64, () => tf.conv2d(x2, k2, 1, 'same'));
  });
  return { best: Math.max(...Object.values(ops)), ops };
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
    if (sc?.wasm) {
      console.log(
        `simple_cnn on wasm: ${sc.wasm.toFixed(0)} samples/s — target ≥ 250 (≈0.1× native): ` +
          `${sc.wasm >= 250 ? 'met' : 'NOT met'}`,
      );
      // How much of the backend's own ceiling that is: a step ≈ 3 forward passes.
      const model = ARCHITECTURES.get('simple_cnn')!.build(tf, { inputShape: shape, numClasses: 10, seed: 1 });
      const perSample = forwardFlops(model);
      model.dispose();
      const ceiling = await wasmCeiling();
      const reached = (sc.wasm * 3 * perSample) / 1e9;
      console.log(
        `simple_cnn at ${shape.join('×')}: ${(perSample / 1e6).toFixed(1)} MFLOP a forward pass, ` +
          `~${((3 * perSample) / 1e6).toFixed(1)} a training step; on wasm ${reached.toFixed(2)} GFLOP/s = ` +
          `${((100 * reached) / ceiling.best).toFixed(0)}% of the backend's own best single op on one core (` +
          Object.entries(ceiling.ops)
            .map(([op, g]) => `${op}: ${g.toFixed(1)}`)
            .join(', ') +
          ' GFLOP/s)',
      );
    }
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
