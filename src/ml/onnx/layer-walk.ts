import type { tf } from '../tf';
import { int, ints, type GraphBuilder } from './graph';
import { UnsupportedLayerError, type ForwardMode, type LayerOp, type Value } from './layer-op';
import { LAYER_OPS, type LayerOps } from './layer-ops';
import { layoutOf, weightKey, weightName, type WeightLayout } from './weight-layout';

/**
 * The one walk over a tfjs layers model that every ONNX graph mldb builds starts from: layers in
 * the model's order (tfjs keeps them topologically sorted), each input looked up by the tfjs
 * tensor that feeds it, each layer's forward nodes appended by its entry in the layer table.
 * The image comes in as [N, H, W, C] (tfjs' layout) and is transposed once to NCHW.
 */

export const IMAGE_INPUT = 'image';

/** One of the model's weights as the graph holds it. */
export interface WeightSlot {
  /** Its name in the graph (an initializer or an input). */
  name: string;
  variable: tf.LayerVariable;
  layout: WeightLayout;
  tfShape: number[];
  onnxDims: number[];
  trainable: boolean;
  /** Keras' L2 penalty on it (a loss term l2 · Σ w²), 0 when none. */
  l2: number;
}

/** What the walk kept of one layer for the backward pass. */
export interface LayerRecord {
  layer: tf.layers.Layer;
  op: LayerOp;
  config: Record<string, unknown>;
  inputs: Value[];
  output: Value;
  saved: Map<string, string>;
  weights: Map<string, WeightSlot>;
}

export interface DropoutMask {
  name: string;
  /** Without the batch. */
  dims: number[];
  rate: number;
  /** The layer's own seed (tfjs' Dropout config), so that every layer draws its own masks. */
  seed: number;
}

export interface Walk {
  output: Value;
  records: LayerRecord[];
  /** Every weight the graph reads, in the model's order. */
  weights: WeightSlot[];
  /** train: non-trainable weights' values after the step (graph value names, by weight name). */
  updates: Map<string, string>;
  /** statistics: per batch-norm layer, its batch mean and variance ([C] value names). */
  statistics: Array<{ layer: string; mean: string; variance: string; channels: number; valuesPerChannel: number }>;
  masks: DropoutMask[];
  batchSize(): string;
}

export interface WalkOptions {
  mode: ForwardMode;
  /** Weights as initializers holding their values (the export) or as graph inputs fed at run time. */
  weights: 'initializers' | 'inputs';
  /** The layer table (tests swap an entry to check that a wrong gradient is caught). */
  ops?: LayerOps;
}

/** Whether a layer's weight `key` is a kernel held in the NCHWc layout (LayerContext.blocked). */
export const heldBlocked = (slots: Map<string, WeightSlot>) => (key: string) =>
  slots.get(key)?.layout.block !== undefined;

/** [null, h, w, c] → [c, h, w]; [null, f] → [f]. */
function onnxDims(shape: Array<number | null>): number[] {
  const dims = shape.slice(1) as number[];
  return dims.length === 3 ? [dims[2], dims[0], dims[1]] : dims;
}

const REGULARIZER_OF: Record<string, string> = {
  kernel: 'kernelRegularizer',
  depthwise_kernel: 'depthwiseRegularizer',
  pointwise_kernel: 'pointwiseRegularizer',
  bias: 'biasRegularizer',
  gamma: 'gammaRegularizer',
  beta: 'betaRegularizer',
};

/** The L2 factor of a weight's regularizer; an L1 term or an activity regularizer is not supported. */
function l2Of(layer: tf.layers.Layer, config: Record<string, unknown>, key: string): number {
  if (config.activityRegularizer)
    throw new UnsupportedLayerError(`${layer.getClassName()} with an activity regularizer`);
  const r = config[REGULARIZER_OF[key] ?? ''] as { className?: string; config?: { l1?: number; l2?: number } } | null;
  if (!r) return 0;
  if (r.className !== 'L1L2' || (r.config?.l1 ?? 0) !== 0)
    throw new UnsupportedLayerError(
      `${layer.getClassName()} with a ${r.className ?? 'custom'} regularizer other than L2`,
    );
  return Number(r.config?.l2 ?? 0);
}

export function walkModel(model: tf.LayersModel, g: GraphBuilder, options: WalkOptions): Walk {
  const ops = options.ops ?? LAYER_OPS;
  const [h, w, c] = model.inputs[0].shape.slice(1) as number[];
  g.input(IMAGE_INPUT, ['N', h, w, c]);
  const values = new Map<string, Value>();
  values.set(model.inputs[0].name, {
    name: g.node('Transpose', [IMAGE_INPUT], [ints('perm', [0, 3, 1, 2])]),
    dims: [c, h, w],
    requiresGrad: false,
  });
  let batch: string | undefined;
  const walk: Walk = {
    output: undefined as unknown as Value,
    records: [],
    weights: [],
    updates: new Map(),
    statistics: [],
    masks: [],
    batchSize: () => {
      batch ??= g.node('Cast', [g.node('Gather', [g.node('Shape', [IMAGE_INPUT]), g.int64s([0])])], [int('to', 1)]);
      return batch;
    },
  };
  const trainable = new Set(model.trainableWeights.map((v) => v.name));

  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const op = ops[cls];
    if (!op) throw new UnsupportedLayerError(`${cls} (layer ${layer.name})`);
    const config = layer.getConfig() as Record<string, unknown>;
    const inbound = ([] as tf.SymbolicTensor[]).concat(layer.input as tf.SymbolicTensor | tf.SymbolicTensor[]);
    const inputs = inbound.map((t) => {
      const v = values.get(t.name);
      if (!v) throw new Error(`layer ${layer.name}: input ${t.name} was not converted before it`);
      return v;
    });
    const slots = new Map<string, WeightSlot>();
    for (const variable of layer.weights) {
      const key = weightKey(variable);
      const tfShape = variable.shape.map(Number);
      const layout = layoutOf(cls, key, tfShape, options.weights === 'inputs' ? g.kernels.nchwcBlock : 0);
      slots.set(key, {
        name: weightName(layer, key),
        variable,
        layout,
        tfShape,
        onnxDims: layout.onnxDims(tfShape),
        trainable: trainable.has(variable.name),
        l2: l2Of(layer, config, key),
      });
    }
    const declared = new Set<string>();
    const weight = (key: string) => {
      const slot = slots.get(key);
      if (!slot) return undefined;
      if (!declared.has(key)) {
        declared.add(key);
        walk.weights.push(slot);
        if (options.weights === 'inputs') g.input(slot.name, slot.onnxDims);
        else
          g.floats(
            slot.name,
            slot.onnxDims,
            slot.layout.toOnnx(slot.variable.read().dataSync() as Float32Array, slot.tfShape),
          );
      }
      return slot.name;
    };
    const record: LayerRecord = {
      layer,
      op,
      config,
      inputs,
      output: undefined as unknown as Value,
      saved: new Map(),
      weights: slots,
    };
    const outDims = onnxDims((layer.output as tf.SymbolicTensor).shape);
    g.scope = layer.name;
    const name = op.forward({
      g,
      layer,
      config,
      inputs,
      outDims,
      weight,
      blocked: heldBlocked(slots),
      batchSize: walk.batchSize,
      mode: options.mode,
      save: (key, value) => record.saved.set(key, value),
      updated: (key, value) => walk.updates.set(slots.get(key)!.name, value),
      statistics: (mean, variance) =>
        walk.statistics.push({
          layer: layer.name,
          mean,
          variance,
          channels: inputs[0].dims[0],
          valuesPerChannel: inputs[0].dims.slice(1).reduce((a, b) => a * b, 1),
        }),
      mask: (dims) => {
        const mask = g.input(`mask:${layer.name}`, ['N', ...dims]);
        walk.masks.push({ name: mask, dims, rate: Number(config.rate), seed: Number(config.seed ?? 0) });
        return mask;
      },
    });
    record.output = {
      name,
      dims: outDims,
      requiresGrad: inputs.some((v) => v.requiresGrad) || layer.trainableWeights.length > 0,
    };
    values.set((layer.output as tf.SymbolicTensor).name, record.output);
    walk.records.push(record);
  }
  g.scope = '';
  walk.output = values.get(model.outputs[0].name)!;
  return walk;
}
