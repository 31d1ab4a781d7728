import { MlDb } from '../mldb';
import { ARCHITECTURES } from '../ml/architectures/registry';
import type { TrainingBackendName } from '../ml/backend-names';
import { resolveWorkers } from '../ml/engines/select-engine';
import { tf } from '../ml/tf';
import { augmenter, ORIGINAL_AUGMENTATION } from '../ml/augment';
import { forwardFlops } from '../ml/flops';
import { renderTable } from '../ui/table';
import { median } from './server';
import { epochBench } from './epoch-bench';
import { compareWithPytorch, comparisonTable } from './pytorch-comparison';
import { profileStep } from './step-profile';
import { BATCH, randomRows, samplesPerSecond, type Rows } from './train-throughput';

/** Training samples/s per architecture on wasm (cpu, tensorflow) against onnxruntime, on filedata's rows. */
async function jsBackends(rows: Rows, archs: string[]): Promise<void> {
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
  console.log(`\ntraining samples/s at ${rows.shape.join('×')}, batch ${BATCH} (median batch after a warm-up batch)`);
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
}

/**
 * `npm run bench -- train [archs]`: every architecture (or those named) on onnxruntime against a
 * PyTorch replica of it, measured in the same run (alternated, medians) at 20×20×1, 32×32×3 and
 * 64×64×3, batch 64; where onnxruntime's step spends its time (simple_cnn, and the architecture
 * furthest below PyTorch); simple_cnn's FLOP rate; --augment's cost; whole epochs of simple_cnn at
 * the three sizes, split by phase, against PyTorch's bare loop, and memory over 20 epochs against
 * PyTorch's peak (epoch-bench.ts; MLDB_BENCH_SHORT=1 shortens them). The tfjs backends (wasm; cpu
 * with MLDB_BENCH_CPU=1) with MLDB_BENCH_WASM=1: minutes more.
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
    if (process.env.MLDB_BENCH_WASM === '1' || process.env.MLDB_BENCH_CPU === '1') await jsBackends(rows, archs);

    console.log('\nagainst PyTorch (its replica of each network, alternated twice):');
    const comparison = await compareWithPytorch(archs, 2, 4);
    if (comparison) {
      console.log(`\n${comparisonTable(comparison)}`);
      const worst = comparison.reduce((a, b) => (b.ratio < a.ratio ? b : a));
      const profiled = archs.includes('simple_cnn') ? [{ arch: 'simple_cnn', rows }] : [];
      if (worst.arch !== 'simple_cnn' || worst.shape[0] !== rows.shape[0])
        profiled.push({ arch: worst.arch, rows: randomRows(worst.shape, 10) });
      for (const p of profiled) {
        const model = ARCHITECTURES.get(p.arch)!.build(tf, { inputShape: p.rows.shape, numClasses: 10, seed: 1 });
        console.log(
          `\nwhere an onnxruntime step of ${p.arch} at ${p.rows.shape.join('×')} spends its time (its profiler):`,
        );
        console.log(await profileStep(model, p.rows, BATCH));
        model.dispose();
      }
    }
    if (archs.includes('simple_cnn')) {
      const model = ARCHITECTURES.get('simple_cnn')!.build(tf, { inputShape: rows.shape, numClasses: 10, seed: 1 });
      const perSample = forwardFlops(model);
      const sps = await samplesPerSecond('simple_cnn', 'onnxruntime', rows, 10, 6);
      model.dispose();
      console.log(
        `simple_cnn at ${rows.shape.join('×')}: ${(perSample / 1e6).toFixed(1)} MFLOP a forward pass, ` +
          `~${((3 * perSample) / 1e6).toFixed(1)} a training step (FLOPs counted from the layer graph): ` +
          `onnxruntime ${((sps * 3 * perSample) / 1e9).toFixed(1)} GFLOP/s`,
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
    if (archs.includes('simple_cnn')) await epochBench(mldb, url, table, rows.shape);
  } finally {
    await mldb.close();
  }
}
