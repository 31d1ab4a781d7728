import * as ort from 'onnxruntime-node';
import type { KernelOptions } from '../../src/ml/onnx/graph';
import type { LayerOps } from '../../src/ml/onnx/layer-ops';
import { trainingGraph } from '../../src/ml/onnx/training-graph';
import type { OptimizerName } from '../../src/ml/optimizer-names';
import { tf } from '../../src/ml/tf';

export interface StepResult {
  loss: number;
  /** By tfjs variable name, in tfjs layout. */
  gradients: Map<string, Float32Array>;
  /** Every weight after the step (moving statistics included), by tfjs variable name. */
  weights: Map<string, Float32Array>;
}

/**
 * `steps` steps of the ONNX training graph from the model's current weights, dropout masks of
 * ones (dropout held, as tfjs' reference runs it), on onnxruntime directly: the graph under test,
 * without the engine around it.
 */
export async function onnxSteps(
  model: tf.LayersModel,
  batch: { xs: Float32Array; ys: Float32Array },
  n: number,
  o: {
    optimizer?: OptimizerName;
    learningRate?: number;
    kernels?: KernelOptions;
    ops?: LayerOps;
    steps?: number;
    softTargets?: boolean;
  },
): Promise<StepResult> {
  const graph = trainingGraph(model, {
    optimizer: o.optimizer ?? 'sgd',
    softTargets: o.softTargets,
    exposeGradients: true,
    kernels: o.kernels,
    ops: o.ops,
  });
  const session = await ort.InferenceSession.create(graph.bytes, { intraOpNumThreads: 2 });
  try {
    const shape = model.inputs[0].shape.slice(1) as number[];
    const state = new Map<string, ort.Tensor>();
    for (const s of graph.state) {
      const values = s.weight
        ? s.weight.layout.toOnnx(s.weight.variable.read().dataSync() as Float32Array, s.weight.tfShape)
        : new Float32Array(s.dims.reduce((a, b) => a * b, 1)).fill(s.initial ?? 0);
      state.set(s.input, new ort.Tensor('float32', values, s.dims));
    }
    let out: ort.InferenceSession.ReturnType = {};
    let loss = NaN;
    for (let step = 1; step <= (o.steps ?? 1); step++) {
      const feeds: Record<string, ort.Tensor> = {
        image: new ort.Tensor('float32', batch.xs, [n, ...shape]),
        labels: new ort.Tensor('float32', batch.ys, [n, batch.ys.length / n]),
        ...Object.fromEntries(state),
      };
      for (const m of graph.masks) {
        const size = n * m.dims.reduce((a, b) => a * b, 1);
        feeds[m.name] = new ort.Tensor('float32', new Float32Array(size).fill(1), [n, ...m.dims]);
      }
      const scalars = graph.rule.scalars(step, o.learningRate ?? 0.01);
      for (const [key, name] of Object.entries(graph.scalars))
        feeds[name] = new ort.Tensor('float32', Float32Array.of(scalars[key]), []);
      out = await session.run(feeds);
      if (step === 1) loss = (out.loss.data as Float32Array)[0];
      for (const s of graph.state) if (s.output) state.set(s.input, out[s.output] as ort.Tensor);
    }
    const gradients = new Map<string, Float32Array>();
    const weights = new Map<string, Float32Array>();
    for (const s of graph.state) {
      if (!s.weight) continue;
      const { layout, tfShape, variable } = s.weight;
      weights.set(variable.name, layout.fromOnnx(state.get(s.input)!.data as Float32Array, tfShape));
      const g = graph.gradients.get(s.weight.name);
      if (g && o.steps === undefined)
        gradients.set(variable.name, layout.fromOnnx(out[g].data as Float32Array, tfShape));
    }
    return { loss, gradients, weights };
  } finally {
    await session.release();
  }
}

/**
 * How far two sets of per-weight arrays are apart: for each weight, ‖a − b‖ over ‖b‖, except that
 * weights whose reference is tiny against the largest (conv biases before batch-norm, whose true
 * gradient is 0 and whose computed one is rounding) are measured against the largest instead.
 */
export function relativeDifference(
  a: Map<string, Float32Array>,
  b: Map<string, Float32Array>,
): {
  worst: number;
  weight: string;
} {
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const largest = Math.max(...[...b.values()].map(norm));
  let worst = { worst: 0, weight: '' };
  for (const [name, reference] of b) {
    const got = a.get(name);
    if (!got) return { worst: Infinity, weight: `${name} (missing)` };
    let d = 0;
    for (let i = 0; i < reference.length; i++) d += (got[i] - reference[i]) ** 2;
    const r = Math.sqrt(d) / Math.max(norm(reference), 1e-3 * largest);
    if (r > worst.worst) worst = { worst: r, weight: name };
  }
  return worst;
}
