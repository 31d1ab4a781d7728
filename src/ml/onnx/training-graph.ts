import type { OptimizerName } from '../optimizer-names';
import type { tf } from '../tf';
import { int, ints, GraphBuilder, type KernelOptions } from './graph';
import { UnsupportedLayerError, type Value } from './layer-op';
import type { LayerOps } from './layer-ops';
import { heldBlocked, walkModel, type DropoutMask, type LayerRecord, type WeightSlot } from './layer-walk';
import { flatUpdate } from './flat-update';
import { OPTIMIZER_RULES, type OptimizerRule } from './optimizer-rules';

/**
 * One training step as one ONNX graph: the forward pass in training mode, Keras' categorical
 * cross-entropy (plus the model's L2 penalties), the backward pass — each layer's gradient entry,
 * in reverse order of the walk, gradients of a value used twice added up — and the optimizer's
 * update of every trainable weight. Weights and optimizer state are graph inputs and come back as
 * outputs, so that they stay in onnxruntime tensors from step to step.
 */

export const LABELS_INPUT = 'labels';
export const LOSS_OUTPUT = 'loss';
export const PROBABILITIES_OUTPUT = 'probabilities';

/** Keras' clip of probabilities inside the cross-entropy (the float32 backends' epsilon). */
const EPSILON = 1e-7;

/** A tensor carried from one step to the next. */
export interface StateTensor {
  input: string;
  /** The output that holds its value after the step; absent when the step does not change it. */
  output?: string;
  dims: number[];
  /** A model weight: its values come from (and go back to) the tfjs model. */
  weight?: WeightSlot;
  /** Optimizer state: the value it starts from. */
  initial?: number;
}

export interface TrainingGraph {
  bytes: Uint8Array;
  state: StateTensor[];
  masks: DropoutMask[];
  rule: OptimizerRule;
  /** Scalar inputs by the rule's names (learning rate, bias corrections). */
  scalars: Record<string, string>;
  /** With exposeGradients: each trainable weight's gradient (penalty included), output name by weight name. */
  gradients: Map<string, string>;
}

export interface TrainingGraphOptions {
  optimizer: OptimizerName;
  /** Output every weight's gradient too (tests compare them with tfjs). */
  exposeGradients?: boolean;
  ops?: LayerOps;
  /** Which of onnxruntime's convolution kernels the graph may use (default: plain ones only). */
  kernels?: KernelOptions;
  /** Labels other than one-hot rows (smoothed, class-weighted): the loss gradient for any targets. */
  softTargets?: boolean;
  /** Momentum (β₁) set step by step (onecycle): its graph input, where the optimizer has one. */
  cycleMomentum?: boolean;
}

/** The output layer must end in softmax: the loss fuses it with the cross-entropy. */
function checkSoftmaxOutput(record: LayerRecord): void {
  const cls = record.layer.getClassName();
  if (!['Dense', 'Activation', 'Conv2D'].includes(cls) || record.config.activation !== 'softmax')
    throw new UnsupportedLayerError(`an output layer without softmax (${cls})`);
}

/**
 * Cross-entropy of the probabilities as tfjs computes it (normalised to sum 1, clipped to
 * [ε, 1 − ε]), and the gradient of its batch mean with respect to the logits: (p − y)/N where the
 * true class' probability is inside the clip, 0 where the clip holds it (as tfjs' clip gradient does).
 */
function crossEntropy(
  g: GraphBuilder,
  p: string,
  y: string,
  batchSize: string,
  softTargets = false,
): { loss: string; dLogits: string } {
  const q = g.node('Div', [p, g.node('ReduceSum', [p, g.int64s([1])], [int('keepdims', 1)])]);
  const low = g.scalar(EPSILON);
  const high = g.scalar(Math.fround(1 - EPSILON));
  const logs = g.node('Log', [g.node('Clip', [q, low, high])]);
  const perRow = g.node('Neg', [g.node('ReduceSum', [g.node('Mul', [y, logs]), g.int64s([1])], [int('keepdims', 0)])]);
  const loss = g.node('ReduceMean', [perRow], [ints('axes', [0]), int('keepdims', 0)]);
  const inside = g.node(
    'Cast',
    [g.node('And', [g.node('GreaterOrEqual', [q, low]), g.node('LessOrEqual', [q, high])])],
    [int('to', 1)],
  );
  const trueInside = g.node('ReduceSum', [g.node('Mul', [y, inside]), g.int64s([1])], [int('keepdims', 1)]);
  if (softTargets) {
    // Targets a (y where the clip lets the gradient through): −Σ a·log q has logit gradient
    // p·Σa − a, which for a one-hot row inside the clip is the p − y below.
    const a = g.node('Mul', [y, inside]);
    const dSoft = g.node('Sub', [g.node('Mul', [p, trueInside]), a]);
    return { loss, dLogits: g.node('Div', [dSoft, batchSize]) };
  }
  const dLogits = g.node('Mul', [g.node('Sub', [p, y]), g.node('Div', [trueInside, batchSize])]);
  return { loss, dLogits };
}

/** Runs every layer's gradient entry from the last layer back; returns each trainable weight's gradient. */
function backward(
  g: GraphBuilder,
  records: LayerRecord[],
  declared: Set<string>,
  output: Value,
  dLogits: string,
  batchSize: () => string,
): Map<string, string> {
  const incoming = new Map<Value, string[]>([[output, [dLogits]]]);
  const weightGrads = new Map<string, string>();
  for (const record of [...records].reverse()) {
    const contributions = incoming.get(record.output);
    if (!contributions || !record.output.requiresGrad || !record.op.backward) continue;
    g.scope = `${record.layer.name}/gradient`;
    const dy = contributions.length === 1 ? contributions[0] : g.node('Sum', contributions);
    const grads = record.op.backward(
      {
        g,
        layer: record.layer,
        config: record.config,
        inputs: record.inputs,
        outDims: record.output.dims,
        batchSize,
        weight: (key) => {
          const slot = record.weights.get(key);
          return slot && declared.has(slot.name) ? slot.name : undefined;
        },
        blocked: heldBlocked(record.weights),
        saved: (key) => {
          const v = record.saved.get(key);
          if (!v) throw new Error(`layer ${record.layer.name}: the forward pass kept no "${key}"`);
          return v;
        },
        gradient: (key, value) => {
          const slot = record.weights.get(key)!;
          if (slot.trainable) weightGrads.set(slot.name, value);
        },
        fromLogits: record.output === output,
      },
      dy,
    );
    record.inputs.forEach((input, i) => {
      const grad = grads[i];
      if (!grad || !input.requiresGrad) return;
      const list = incoming.get(input);
      if (list) list.push(grad);
      else incoming.set(input, [grad]);
    });
  }
  g.scope = '';
  return weightGrads;
}

export function trainingGraph(model: tf.LayersModel, options: TrainingGraphOptions): TrainingGraph {
  const g = new GraphBuilder(options.kernels);
  const walk = walkModel(model, g, { mode: 'train', weights: 'inputs', ops: options.ops });
  const last = walk.records[walk.records.length - 1];
  if (last.output !== walk.output) throw new UnsupportedLayerError('a model whose last layer is not its output');
  checkSoftmaxOutput(last);
  const classes = walk.output.dims[0];
  const labels = g.input(LABELS_INPUT, ['N', classes]);
  const ce = crossEntropy(g, walk.output.name, labels, walk.batchSize(), options.softTargets);
  const declared = new Set(walk.weights.map((w) => w.name));
  const grads = backward(g, walk.records, declared, walk.output, ce.dLogits, walk.batchSize);

  const base = OPTIMIZER_RULES[options.optimizer];
  const rule = (options.cycleMomentum && base.cycled) || base;
  const scalars = Object.fromEntries(
    Object.keys(rule.scalars(1, 1)).map((key) => [key, g.input(`optimizer/${key}`, [])]),
  );
  const state: StateTensor[] = [];
  const gradients = new Map<string, string>();
  const trained: Array<{ slot: WeightSlot; grad: string }> = [];
  let loss = ce.loss;
  for (const slot of walk.weights) {
    if (!slot.trainable) {
      const updated = walk.updates.get(slot.name);
      state.push({
        input: slot.name,
        output: updated && g.emit(updated, `${slot.name}:next`, slot.onnxDims),
        dims: slot.onnxDims,
        weight: slot,
      });
      continue;
    }
    let grad = grads.get(slot.name);
    if (!grad) throw new Error(`weight ${slot.name} received no gradient`);
    if (slot.l2 > 0) {
      // Keras' L2 penalty l2·Σw²: a loss term, and 2·l2·w in the gradient.
      const penalty = g.node('Mul', [g.node('ReduceSumSquare', [slot.name], [int('keepdims', 0)]), g.scalar(slot.l2)]);
      loss = g.node('Add', [loss, penalty]);
      grad = g.node('Add', [grad, g.node('Mul', [slot.name, g.scalar(2 * slot.l2)])]);
    }
    if (options.exposeGradients) {
      // A copy: the update below still reads the gradient under its own name.
      const name = g.node('Identity', [grad], [], `gradient:${slot.name}`);
      gradients.set(slot.name, g.output(name, slot.onnxDims));
    }
    trained.push({ slot, grad });
  }
  if (trained.length > 0) {
    g.scope = 'optimizer/update';
    const update = flatUpdate(g, rule, trained, scalars);
    trained.forEach(({ slot }, i) =>
      state.push({
        input: slot.name,
        output: g.emit(update.weights[i], `${slot.name}:next`, slot.onnxDims),
        dims: slot.onnxDims,
        weight: slot,
      }),
    );
    for (const s of update.state)
      state.push({
        input: s.input,
        output: g.emit(s.next, `${s.input}:next`, [update.size]),
        dims: [update.size],
        initial: s.initial,
      });
  }
  g.scope = '';
  g.emit(loss, LOSS_OUTPUT, []);
  g.emit(walk.output.name, PROBABILITIES_OUTPUT, ['N', classes]);
  return { bytes: g.encode(`${model.name}_train_step`), state, masks: walk.masks, rule, scalars, gradients };
}
