import { MlDb } from '../mldb';
import { ARCHITECTURES } from '../ml/architectures/registry';
import type { TrainingBackendName } from '../ml/backend-names';
import { openStepEngine, resolveWorkers, selectTrainingBackend } from '../ml/engines/select-engine';
import { tf } from '../ml/tf';
import { augmenter, ORIGINAL_AUGMENTATION } from '../ml/augment';
import { forwardFlops } from '../ml/flops';
import { trainModel } from '../ml/train';
import { renderTable } from '../ui/table';
import { median } from './server';
import { pytorchSimpleCnn } from './native-reference';
import { profileStep } from './step-profile';

const BATCH = 64;

interface Rows {
  xs: Float32Array;
  ys: Float32Array;
  shape: [number, number, number];
  classes: number;
}

/**
 * Training samples/s of `arch` on `backend` (its default --workers), on real rows, for at least
 * `minSeconds` and `minBatches` after a warm-up batch: the median batch.
 */
async function samplesPerSecond(
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

/** Epoch seconds of simple_cnn on the table, with onnxruntime's threads spinning or not (alternated). */
async function spinningEpochs(mldb: MlDb, table: string): Promise<Record<'spinning' | 'sleeping', number>> {
  const seconds: Record<'spinning' | 'sleeping', number[]> = { spinning: [], sleeping: [] };
  const before = process.env.MLDB_ONNX_SPINNING;
  try {
    for (let round = 0; round < 2; round++) {
      for (const mode of ['sleeping', 'spinning'] as const) {
        process.env.MLDB_ONNX_SPINNING = mode === 'spinning' ? '1' : '0';
        const r = await trainModel(await mldb.connection(), {
          table,
          model: 'simple_cnn',
          epochs: 2,
          backend: 'onnxruntime',
        });
        // Whole epochs as a user sees them: reading, stepping, batch-norm statistics, validation.
        seconds[mode].push(...r.epochs.map((e) => e.seconds));
        r.model.dispose();
      }
    }
  } finally {
    if (before === undefined) delete process.env.MLDB_ONNX_SPINNING;
    else process.env.MLDB_ONNX_SPINNING = before;
  }
  return { spinning: median(seconds.spinning), sleeping: median(seconds.sleeping) };
}

/** Resident memory and tfjs tensors after each of `epochs` epochs on onnxruntime: flat, or leaking. */
async function memoryOverEpochs(mldb: MlDb, table: string, epochs: number) {
  const rss: number[] = [];
  const tensors: number[] = [];
  const r = await trainModel(await mldb.connection(), {
    table,
    model: 'simple_cnn',
    epochs,
    backend: 'onnxruntime',
    onEpoch: () => {
      rss.push(process.memoryUsage().rss / 2 ** 20);
      tensors.push(tf.memory().numTensors);
    },
  });
  r.model.dispose();
  return { rss, tensors };
}

/**
 * `npm run bench -- train [archs]`: training samples/s per architecture on wasm and onnxruntime
 * (tensorflow too where installed, cpu with MLDB_BENCH_CPU=1) at 20×20×1, batch 64, on filedata's rows; simple_cnn
 * against PyTorch measured in the same run (alternated, medians); where onnxruntime's step spends
 * its time; whole epochs with its threads spinning or sleeping; memory over 20 epochs.
 */
export async function trainSpeedBench(url: string, dataDir: string, archs = [...ARCHITECTURES.keys()]): Promise<void> {
  const table = 'bench_train';
  const mldb = new MlDb({ url, table });
  try {
    await mldb.insertFolder(dataDir, { create: true });
    const drawn = await mldb.drawTensors(table);
    const rows: Rows = {
      xs: drawn.xs.dataSync() as Float32Array,
      ys: drawn.ys.dataSync() as Float32Array,
      shape: drawn.xs.shape.slice(1) as [number, number, number],
      classes: drawn.labels.length,
    };
    tf.dispose([drawn.xs, drawn.ys]);
    const shape = rows.shape.join('×');
    // The pure-JS cpu backend takes minutes (1–70 samples/s): only on request.
    const backends: TrainingBackendName[] = [
      ...(process.env.MLDB_BENCH_CPU === '1' ? ['cpu' as const] : []),
      'wasm',
      'onnxruntime',
    ];
    try {
      require.resolve('@tensorflow/tfjs-node');
      backends.push('tensorflow');
    } catch {
      console.log('(tensorflow backend not installed: measured wasm and onnxruntime; MLDB_BENCH_CPU=1 adds cpu)');
    }
    const results = new Map<string, Partial<Record<TrainingBackendName, number>>>();
    for (const backend of backends) {
      for (const arch of archs) {
        const slow = backend === 'cpu';
        const sps = await samplesPerSecond(arch, backend, rows, slow ? 2 : 5, slow ? 5 : 8);
        results.set(arch, { ...results.get(arch), [backend]: sps });
        console.log(`  ${arch} on ${backend}: ${sps.toFixed(1)} samples/s`);
      }
    }
    const workers = resolveWorkers('auto', 'wasm');
    console.log(`\ntraining samples/s at ${shape}, batch ${BATCH} (median batch after a warm-up batch)`);
    const hasTf = backends.includes('tensorflow');
    console.log(
      renderTable(
        [
          'architecture',
          ...(backends.includes('cpu') ? ['cpu'] : []),
          `wasm (${workers} workers)`,
          'onnxruntime',
          'onnxruntime / wasm',
          ...(hasTf ? ['tensorflow'] : []),
        ],
        archs.map((a) => {
          const r = results.get(a)!;
          return [
            a,
            ...(r.cpu ? [r.cpu.toFixed(1)] : []),
            r.wasm!.toFixed(1),
            r.onnxruntime!.toFixed(1),
            `${(r.onnxruntime! / r.wasm!).toFixed(2)}×`,
            ...(hasTf ? [r.tensorflow!.toFixed(1)] : []),
          ];
        }),
        ['left', ...backends.map(() => 'right' as const), 'right'],
      ),
    );
    for (const a of ['big_xception', 'resnet_small'].filter((x) => archs.includes(x))) {
      const r = results.get(a)!;
      const ratio = r.onnxruntime! / r.wasm!;
      console.log(`${a}: onnxruntime ${ratio.toFixed(2)}× wasm — target ≥ 3×: ${ratio >= 3 ? 'met' : 'NOT met'}`);
    }
    if (archs.includes('simple_cnn')) {
      await nativeComparison(rows);
      const model = ARCHITECTURES.get('simple_cnn')!.build(tf, { inputShape: rows.shape, numClasses: 10, seed: 1 });
      const perSample = forwardFlops(model);
      console.log('\nwhere an onnxruntime step of simple_cnn spends its time (its profiler, batch 64):');
      console.log(await profileStep(model, rows, BATCH));
      model.dispose();
      const sc = results.get('simple_cnn')!;
      const gflops = (sps: number) => (sps * 3 * perSample) / 1e9;
      console.log(
        `simple_cnn at ${shape}: ${(perSample / 1e6).toFixed(1)} MFLOP a forward pass, ` +
          `~${((3 * perSample) / 1e6).toFixed(1)} ` +
          `a training step (FLOPs counted from the layer graph): onnxruntime ${gflops(sc.onnxruntime!).toFixed(1)} ` +
          `GFLOP/s, wasm ${gflops(sc.wasm!).toFixed(1)} GFLOP/s`,
      );
    }
    // --augment: the original's random warp of every image, per batch, against the same without.
    for (const arch of archs.filter((a) => ['simple_cnn', 'lenet5'].includes(a))) {
      const augment = augmenter(ORIGINAL_AUGMENTATION, { height: rows.shape[0], width: rows.shape[1], channels: 1 }, 1);
      const rates: Record<'with' | 'without', number[]> = { with: [], without: [] };
      for (let r = 0; r < 3; r++) {
        rates.without.push(await samplesPerSecond(arch, 'onnxruntime', rows, 5, 4));
        rates.with.push(await samplesPerSecond(arch, 'onnxruntime', rows, 5, 4, { augment }));
      }
      const [withAugment, without] = [median(rates.with), median(rates.without)];
      console.log(
        `${arch} on onnxruntime with --augment: ${withAugment.toFixed(1)} samples/s against ${without.toFixed(1)}: ` +
          `an epoch takes ${(without / withAugment).toFixed(2)}× as long`,
      );
    }
    if (archs.includes('simple_cnn')) {
      const epochs = await spinningEpochs(mldb, table);
      console.log(
        `simple_cnn, a whole epoch on filedata (reader and server on the same cores, median of 4): ` +
          `${epochs.spinning.toFixed(2)} s with onnxruntime's threads spinning between ops (the default), ` +
          `${epochs.sleeping.toFixed(2)} s sleeping (MLDB_ONNX_SPINNING=0)`,
      );
      const memory = await memoryOverEpochs(mldb, table, 20);
      const mb = (x: number) => `${x.toFixed(0)} MB`;
      console.log(
        `memory over 20 epochs of simple_cnn on onnxruntime: resident ${mb(memory.rss[0])} after epoch 1, ` +
          `${mb(memory.rss[4])} after 5, ${mb(memory.rss[19])} after 20 (largest ${mb(Math.max(...memory.rss))}); ` +
          `tfjs tensors ${memory.tensors[0]} → ${memory.tensors[19]}`,
      );
    }
  } finally {
    await mldb.close();
  }
}

/** simple_cnn on onnxruntime against PyTorch, alternated three times (the machine's speed drifts). */
async function nativeComparison(rows: Rows): Promise<void> {
  const native: number[] = [];
  const onnx: number[] = [];
  for (let round = 0; round < 3; round++) {
    const reference = pytorchSimpleCnn(rows.shape[0], BATCH, 8);
    if ('unavailable' in reference) {
      console.log(`\n(${reference.unavailable})`);
      return;
    }
    native.push(reference.samplesPerSecond);
    onnx.push(await samplesPerSecond('simple_cnn', 'onnxruntime', rows, 10, 8));
  }
  const [n, o] = [median(native), median(onnx)];
  console.log(
    `\nsimple_cnn at ${rows.shape.join('×')}, batch ${BATCH}, alternated ×3: PyTorch ${n.toFixed(0)} samples/s ` +
      `(${native.map((x) => x.toFixed(0)).join(', ')}), onnxruntime ${o.toFixed(0)} ` +
      `(${onnx.map((x) => x.toFixed(0)).join(', ')}): ` +
      `${(o / n).toFixed(2)}× — target ≥ 0.6×: ${o / n >= 0.6 ? 'met' : 'NOT met'}`,
  );
}
