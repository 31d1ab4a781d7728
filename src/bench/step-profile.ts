import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onnxEngineSettings } from '../config';
import { alignedFloat32Arrays } from '../ml/engines/aligned-buffers';
import { nchwcBlockSize } from '../ml/engines/nchwc-probe';
import { trainingGraph } from '../ml/onnx/training-graph';
import { loadOnnxRuntime, type OrtTensor } from '../ml/onnxruntime';
import type { tf } from '../ml/tf';

/**
 * Where onnxruntime spends a training step, by its own profiler: kernel time per part of the step
 * (node names carry the layer and the gradient they compute, onnx/graph.ts), and the costliest nodes.
 */
export async function profileStep(
  model: tf.LayersModel,
  rows: { xs: Float32Array; ys: Float32Array; shape: number[]; classes: number },
  batch: number,
): Promise<string> {
  const loaded = loadOnnxRuntime();
  if (!('ort' in loaded)) return `(${loaded.unavailable})`;
  const { ort } = loaded;
  const block = await nchwcBlockSize(ort, onnxEngineSettings().blocked);
  const graph = trainingGraph(model, {
    optimizer: 'adam',
    kernels: { nchwcBlock: block, batchAligned: block > 0 && batch % block === 0, batch },
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldb-profile-'));
  try {
    const session = await ort.InferenceSession.create(graph.bytes, {
      intraOpNumThreads: os.availableParallelism(),
      enableProfiling: true,
      profileFilePrefix: path.join(dir, 'step'),
    });
    const per = rows.shape.reduce((a, b) => a * b, 1);
    const feeds: Record<string, OrtTensor> = {
      image: new ort.Tensor('float32', rows.xs.slice(0, batch * per), [batch, ...rows.shape]),
      labels: new ort.Tensor('float32', rows.ys.slice(0, batch * rows.classes), [batch, rows.classes]),
    };
    // Aligned as the engine's (aligned-buffers.ts).
    const buffers = alignedFloat32Arrays(graph.state.map((s) => s.dims.reduce((a, b) => a * b, 1)));
    graph.state.forEach((s, i) => {
      if (s.weight) {
        buffers[i].set(s.weight.layout.toOnnx(s.weight.variable.read().dataSync() as Float32Array, s.weight.tfShape));
      } else buffers[i].fill(s.initial ?? 0);
      feeds[s.input] = new ort.Tensor('float32', buffers[i], s.dims);
    });
    for (const m of graph.masks) {
      const size = batch * m.dims.reduce((a, b) => a * b, 1);
      feeds[m.name] = new ort.Tensor('float32', new Float32Array(size).fill(2), [batch, ...m.dims]);
    }
    const scalars = graph.rule.scalars(1, 0.001);
    for (const [key, name] of Object.entries(graph.scalars))
      feeds[name] = new ort.Tensor('float32', Float32Array.of(scalars[key]), []);
    const runs = 15;
    for (let i = 0; i < runs; i++) await session.run(feeds);
    session.endProfiling();
    await session.release();
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) return '(onnxruntime wrote no profile)';
    if (process.env.MLDB_PROFILE_KEEP) fs.copyFileSync(path.join(dir, file), process.env.MLDB_PROFILE_KEEP);
    return summarise(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')), runs);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

function partOf(node: string): string {
  const conv = /\/(Conv|ConvTranspose)[:_]/.test(node) ? 'convolutions' : 'other ops';
  if (node.includes('/update/')) return 'optimizer updates';
  if (node.includes('/gradient/kernel/')) return `kernel gradients: ${conv}`;
  if (node.includes('/gradient/input/')) return `input gradients: ${conv}`;
  if (node.includes('/gradient/')) return 'other gradients (batch-norm, pooling, activations, loss)';
  return `forward: ${conv}`;
}

function summarise(events: ProfileEvent[], runs: number): string {
  const parts = new Map<string, number>();
  const nodes = new Map<string, number>();
  let steps = 0;
  let stepTime = 0;
  for (const e of events) {
    if (e.name === 'model_run') {
      steps++;
      stepTime += e.dur;
    }
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const node = e.name.replace(/_kernel_time$/, '');
    parts.set(partOf(node), (parts.get(partOf(node)) ?? 0) + e.dur);
    nodes.set(node, (nodes.get(node) ?? 0) + e.dur);
  }
  const ms = (us: number) => (us / runs / 1000).toFixed(2);
  const kernels = [...parts.values()].reduce((a, b) => a + b, 0);
  const lines = [
    `  a step: ${(stepTime / Math.max(steps, 1) / 1000).toFixed(1)} ms, of which kernels ${ms(kernels)} ms`,
    ...[...parts].sort((a, b) => b[1] - a[1]).map(([part, t]) => `    ${part.padEnd(58)} ${ms(t).padStart(6)} ms`),
    '  costliest nodes:',
    ...[...nodes]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([node, t]) => `    ${node.padEnd(58)} ${ms(t).padStart(6)} ms`),
  ];
  return lines.join('\n');
}
