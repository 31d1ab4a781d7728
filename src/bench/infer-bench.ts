import os from 'node:os';
import { ARCHITECTURES } from '../ml/architectures/registry';
import type { SavedModel } from '../ml/artifacts';
import { selectBackend } from '../ml/backend';
import { loadOnnxRuntime, onnxEngine, tfjsEngine, type ModelEngine } from '../ml/inference-engine';
import { tf } from '../ml/tf';
import { renderTable } from '../ui/table';
import { median } from './server';

const SHAPE: [number, number, number] = [28, 28, 1];

/** Samples/s of `engine` at `batch`: the median of rounds of at least `seconds` each. */
async function samplesPerSecond(engine: ModelEngine, batch: number, seconds = 2, rounds = 3): Promise<number> {
  const xs = Float32Array.from({ length: batch * SHAPE[0] * SHAPE[1] * SHAPE[2] }, (_, i) => (i % 255) / 255);
  for (let i = 0; i < 3; i++) await engine.run(xs, batch); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = performance.now();
    // Bounded in time and count.
    while (performance.now() - t0 < seconds * 1000 && n < 100_000) {
      await engine.run(xs, batch);
      n += batch;
    }
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

/**
 * `npm run bench -- infer [archs]`: inference samples/s at batch 1 and 64 on 28×28×1, TensorFlow.js
 * on wasm (the baseline: what evaluate, predict and serve used before) against onnxruntime on the
 * CPU with every core, the same weights.
 */
export async function inferBench(archs = ['simple_cnn', 'lenet5', 'resnet_small', 'keras_mnist_cnn']): Promise<void> {
  await selectBackend('wasm');
  const loaded = loadOnnxRuntime();
  if ('unavailable' in loaded) {
    console.log(`onnxruntime: ${loaded.unavailable}; nothing to compare`);
    return;
  }
  const rows: string[][] = [];
  for (const name of archs) {
    const model = ARCHITECTURES.get(name)!.build(tf, { inputShape: SHAPE, numClasses: 10, seed: 1 });
    const saved = {
      dir: name,
      model,
      metadata: { labels: [...Array(10).keys()].map(String), inputShape: SHAPE, architecture: name },
    } as unknown as SavedModel;
    const wasm = tfjsEngine(model);
    const native = await onnxEngine(loaded.ort, saved);
    try {
      for (const batch of [1, 64]) {
        const base = await samplesPerSecond(wasm, batch);
        const ours = await samplesPerSecond(native, batch);
        rows.push([name, String(batch), base.toFixed(0), ours.toFixed(0), `${(ours / base).toFixed(2)}×`]);
        console.log(`  ${name} batch ${batch}: wasm ${base.toFixed(0)}, onnxruntime ${ours.toFixed(0)} samples/s`);
      }
    } finally {
      await native.dispose();
      model.dispose();
    }
  }
  console.log(
    renderTable(
      ['architecture', 'batch', 'tfjs wasm (baseline)', `onnxruntime (${os.availableParallelism()} threads)`, 'ratio'],
      rows,
      ['left', 'right', 'right', 'right', 'right'],
    ),
  );
}
