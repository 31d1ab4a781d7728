import os from 'node:os';
import type { KernelOptions } from '../onnx/graph';
import { evaluationGraph, statisticsGraph, type ForwardGraph, type StatisticsGraph } from '../onnx/forward-graphs';
import { IMAGE_INPUT, type DropoutMask } from '../onnx/layer-walk';
import {
  LABELS_INPUT,
  LOSS_OUTPUT,
  PROBABILITIES_OUTPUT,
  trainingGraph,
  type StateTensor,
  type TrainingGraph,
} from '../onnx/training-graph';
import type { Ort, OrtSession, OrtSessionOptions, OrtTensor } from '../onnxruntime';
import type { OptimizerName } from '../optimizer-names';
import { Mulberry32Stream } from '../seeded';
import { tf } from '../tf';
import { alignedFloat32Arrays } from './aligned-buffers';
import { nchwcBlockSize } from './nchwc-probe';
import { batchAccuracy, type StepEngine } from './step-engine';

export interface OnnxEngineOptions {
  optimizer: OptimizerName;
  learningRate: number;
  /** AdamW's decoupled decay (default: its own default). */
  weightDecay?: number;
  /** Targets other than one-hot rows (smoothed, weighted): the step's loss gradient takes them whole. */
  softTargets?: boolean;
  /** Momentum (β₁) set each step by setMomentum (onecycle): the step graph takes it as an input. */
  cycleMomentum?: boolean;
  /** Threads of onnxruntime's pool (default: every core). */
  threads?: number;
  /**
   * Whether onnxruntime's threads spin between ops instead of sleeping (its default). Spinning
   * could take the core the database reader and the loop need; measured on whole epochs of
   * simple_cnn on filedata (`npm run bench -- train`, reader and server on the same two cores) it
   * is still the faster, so it stays on; MLDB_ONNX_SPINNING=0 turns it off.
   */
  spinning?: boolean;
  /** Channel-blocked (NCHWc) convolutions where the machine has them (default); MLDB_ONNX_NCHWC=0 turns them off. */
  blocked?: boolean;
  /** The batch size most steps take (a run's --batch-size): their step is built for exactly that size. */
  batchSize?: number;
}

type StepKind = 'fixed' | 'aligned' | 'unaligned';

/** A tensor carried between steps: the current value, and the buffer the next step writes. */
interface Carried {
  spec: StateTensor;
  current: OrtTensor;
  next: OrtTensor | null;
}

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/**
 * Training on onnxruntime: the step is one ONNX graph (onnx/training-graph.ts) run by an
 * InferenceSession on every core, its weights and optimizer state kept in onnxruntime tensors
 * from step to step — each step writes the next values into a second set of buffers, and the two
 * swap (a graph cannot update its inputs in place). Dropout masks come from mldb's seeded
 * generator. Validation and batch-norm statistics run forward graphs of the same walk, fed the
 * current tensors. The tfjs model only receives the weights when syncModel is called.
 */
export async function onnxStepEngine(ort: Ort, model: tf.LayersModel, o: OnnxEngineOptions): Promise<StepEngine> {
  const threads = o.threads ?? os.availableParallelism();
  const sessionOptions: OrtSessionOptions = {
    intraOpNumThreads: threads,
    graphOptimizationLevel: 'all',
    extra: { session: { 'intra_op.allow_spinning': o.spinning === false ? '0' : '1' } },
  };
  const block = await nchwcBlockSize(ort, o.blocked);
  // Kernel gradients block over the batch only when it is a multiple of the block, and depthwise
  // ones fold the batch into their groups only when the graph's batch is fixed: a full batch takes
  // the step built for its size, other aligned batches the aligned one, an epoch's last rows of
  // any other count the unaligned one (each built when first needed).
  const fixedBatch = block > 0 && o.batchSize && o.batchSize % block === 0 ? o.batchSize : undefined;
  const kindOf = (n: number): StepKind =>
    n === fixedBatch ? 'fixed' : block === 0 || n % block === 0 ? 'aligned' : 'unaligned';
  const kernels: Record<StepKind, KernelOptions> = {
    fixed: { nchwcBlock: block, batchAligned: true, batch: fixedBatch },
    aligned: { nchwcBlock: block, batchAligned: block > 0 },
    unaligned: { nchwcBlock: block, batchAligned: false },
  };
  const graphOptions = { optimizer: o.optimizer, softTargets: o.softTargets, cycleMomentum: o.cycleMomentum };
  const graphs = new Map<StepKind, Promise<{ graph: TrainingGraph; session: OrtSession }>>();
  // Each session's memory arena grows to its step's peak and keeps it. A step other than the one
  // the run's batches take (an epoch's last, smaller batch: once an epoch) allocates as it goes
  // instead: simple_cnn held 13 MB less at 20×20 and 80 MB less at 64×64, for a slower step once
  // an epoch.
  const mainKind = o.batchSize ? kindOf(o.batchSize) : undefined;
  const stepFor = (n: number) => {
    const kind = kindOf(n);
    let entry = graphs.get(kind);
    if (!entry) {
      const graph = trainingGraph(model, { ...graphOptions, kernels: kernels[kind] });
      const options = mainKind && kind !== mainKind ? { ...sessionOptions, enableCpuMemArena: false } : sessionOptions;
      entry = ort.InferenceSession.create(graph.bytes, options).then((session) => ({ graph, session }));
      graphs.set(kind, entry);
    }
    return entry;
  };
  // The state and masks are the same in every kind of step.
  const { graph: first } = await stepFor(fixedBatch ?? (block || 1));

  const carried = new Map<string, Carried>();
  // Both buffers of every state tensor, aligned for onnxruntime's vector loads (aligned-buffers.ts).
  const buffers = alignedFloat32Arrays(
    first.state.flatMap((spec) => Array<number>(spec.output ? 2 : 1).fill(size(spec.dims))),
  );
  let nextBuffer = 0;
  for (const spec of first.state) {
    const current = buffers[nextBuffer++];
    if (spec.weight) {
      current.set(
        spec.weight.layout.toOnnx(spec.weight.variable.read().dataSync() as Float32Array, spec.weight.tfShape),
      );
    } else current.fill(spec.initial ?? 0);
    carried.set(spec.input, {
      spec,
      current: new ort.Tensor('float32', current, spec.dims),
      next: spec.output ? new ort.Tensor('float32', buffers[nextBuffer++], spec.dims) : null,
    });
  }
  const masks = first.masks.map((m) => ({ spec: m, random: new Mulberry32Stream(m.seed) }));
  const inputShape = model.inputs[0].shape.slice(1) as number[];
  const classes = model.outputs[0].shape[1] as number;
  const forward = new Map<string, Promise<{ graph: ForwardGraph | StatisticsGraph; session: OrtSession }>>();
  const forwardSession = <G extends ForwardGraph>(key: string, make: () => G) => {
    let entry = forward.get(key);
    if (!entry) {
      const graph = make();
      entry = ort.InferenceSession.create(graph.bytes, sessionOptions).then((session) => ({ graph, session }));
      forward.set(key, entry);
    }
    return entry as Promise<{ graph: G; session: OrtSession }>;
  };
  const weightFeeds = (graph: ForwardGraph) =>
    Object.fromEntries(graph.weights.map((w) => [w.name, carried.get(w.name)!.current]));
  const image = (xs: Float32Array, n: number) => new ort.Tensor('float32', xs, [n, ...inputShape]);

  // Every mask is drawn whole each step, into buffers kept per batch size (onnxruntime has read the
  // last step's before the next is drawn), aligned like the state: no allocation a step.
  const maskBuffers = new Map<number, Map<string, Float32Array>>();
  const maskBuffer = (mask: DropoutMask, n: number): Float32Array => {
    let forSize = maskBuffers.get(n);
    if (!forSize) {
      // A run has its batch size and an epoch's last, smaller batch; more sizes than a few are not kept.
      if (maskBuffers.size >= 4) maskBuffers.clear();
      const arrays = alignedFloat32Arrays(masks.map((m) => n * size(m.spec.dims)));
      forSize = new Map(masks.map((m, k) => [m.spec.name, arrays[k]]));
      maskBuffers.set(n, forSize);
    }
    return forSize.get(mask.name)!;
  };

  let learningRate = o.learningRate;
  let momentum: number | undefined;
  let steps = 0;
  // Frozen batch-norm layers keep their statistics (ml/freeze.ts): the statistics graph leaves them out.
  const bnLayers = model.layers
    .filter((l) => l.getClassName() === 'BatchNormalization' && l.trainable)
    .map((l) => l.name);

  return {
    backend: 'onnxruntime',
    workers: 1,
    async step(xs, ys, n) {
      const { graph, session } = await stepFor(n);
      steps++;
      const feeds: Record<string, OrtTensor> = {
        [IMAGE_INPUT]: image(xs, n),
        [LABELS_INPUT]: new ort.Tensor('float32', ys, [n, classes]),
      };
      for (const m of masks) {
        // Inverted dropout's multipliers: 0 with probability `rate`, else 1/(1 − rate), as tfjs draws them.
        const values = maskBuffer(m.spec, n);
        m.random.fillThreshold(values, m.spec.rate, 0, 1 / (1 - m.spec.rate));
        feeds[m.spec.name] = new ort.Tensor('float32', values, [n, ...m.spec.dims]);
      }
      const scalars = graph.rule.scalars(steps, learningRate, o.weightDecay, momentum);
      for (const [key, name] of Object.entries(graph.scalars))
        feeds[name] = new ort.Tensor('float32', Float32Array.of(scalars[key]), []);
      const fetches: Record<string, OrtTensor | null> = { [LOSS_OUTPUT]: null, [PROBABILITIES_OUTPUT]: null };
      for (const c of carried.values()) {
        feeds[c.spec.input] = c.current;
        if (c.next) fetches[c.spec.output!] = c.next;
      }
      const out = await session.run(feeds, fetches);
      for (const c of carried.values()) if (c.next) [c.current, c.next] = [c.next, c.current];
      const probabilities = out[PROBABILITIES_OUTPUT].data as Float32Array;
      return { loss: (out[LOSS_OUTPUT].data as Float32Array)[0], accuracy: batchAccuracy(probabilities, ys, n) };
    },
    setLearningRate(lr) {
      learningRate = lr;
    },
    setMomentum(m) {
      momentum = m;
    },
    async predict(xs, n) {
      const { graph, session } = await forwardSession('evaluate', () => evaluationGraph(model, kernels.unaligned));
      const out = await session.run({ [IMAGE_INPUT]: image(xs, n), ...weightFeeds(graph) });
      return out[PROBABILITIES_OUTPUT].data as Float32Array;
    },
    batchNorm: {
      layers: bnLayers.length,
      async moments(xs, n) {
        const { graph, session } = await forwardSession('statistics', () => statisticsGraph(model, kernels.unaligned));
        const out = await session.run({ [IMAGE_INPUT]: image(xs, n), ...weightFeeds(graph) });
        return graph.layers.map((l) => ({
          mean: out[l.mean].data as Float32Array,
          variance: out[l.variance].data as Float32Array,
          count: n * l.valuesPerChannel,
        }));
      },
      write(statistics) {
        bnLayers.forEach((layer, k) => {
          (carried.get(`${layer}/moving_mean`)!.current.data as Float32Array).set(statistics[k].mean);
          (carried.get(`${layer}/moving_variance`)!.current.data as Float32Array).set(statistics[k].variance);
        });
      },
    },
    syncModel() {
      for (const c of carried.values()) {
        const w = c.spec.weight;
        if (!w) continue;
        const values = w.layout.fromOnnx(c.current.data as Float32Array, w.tfShape);
        tf.tidy(() => {
          w.variable.write(tf.tensor(values, w.tfShape));
        });
      }
    },
    async close() {
      const sessions = await Promise.allSettled([...graphs.values(), ...forward.values()]);
      await Promise.all(sessions.map((s) => (s.status === 'fulfilled' ? s.value.session.release() : undefined)));
    },
  };
}
