import { pair, windowOf, type Window } from '../onnx/layers/window';
import type { tf } from '../tf';
import type { NativeLayer } from './binding';

/**
 * A tfjs layers model as the oneDNN addon's network: which native layer each tfjs layer becomes
 * (an activation folded into a layer of its own; each native layer reading the native layers its
 * tfjs layer's inputs came from: a residual block's addition reads two), where its weights go, each dropout's
 * mask (drawn as onnxruntime's step draws it: NCHW, or the flattened NHWC vector after a Flatten)
 * and each batch-norm's values per channel. A model the addon cannot run is named with the first
 * reason, so that `--backend auto` can pass it to onnxruntime.
 */

export interface PlannedWeight {
  /** The native layer holding it. */
  layer: number;
  /** Its key there: kernel, bias, gamma, beta, moving_mean, moving_variance. */
  key: string;
  variable: tf.LayerVariable;
  shape: number[];
}

export interface PlannedMask {
  /** Values per row (without the batch). */
  size: number;
  rate: number;
  seed: number;
}

export interface NetworkPlan {
  input: { channels: number; height: number; width: number };
  layers: NativeLayer[];
  weights: PlannedWeight[];
  masks: PlannedMask[];
  /** Per batch-norm layer (in order): its native layer and its input's values per channel per row. */
  batchNorms: Array<{ layer: number; valuesPerRow: number }>;
}

interface Shape {
  c: number;
  h: number;
  w: number;
  /** A vector: a Dense's output, or a Flatten's (flattened: still 4-D underneath, in NHWC order). */
  flat: boolean;
  flattened: boolean;
}

/** A tfjs tensor as the network has it: the native layer that computes it (-1: the image) and its shape. */
interface Value {
  layer: number;
  shape: Shape;
}

/**
 * The L2 factor of a kernel's regularizer (Keras' l2·Σw²); a reason where the layer has another
 * regularizer (L1, on a bias or a batch-norm, on its activity), which the addon does not add.
 */
function kernelL2(config: Record<string, unknown>, key: string): number | string {
  for (const other of ['activityRegularizer', 'biasRegularizer', 'gammaRegularizer', 'betaRegularizer'])
    if (config[other]) return `a ${other.replace('Regularizer', '')} regularizer`;
  const r = config[key] as { className?: string; config?: { l1?: number; l2?: number } } | null | undefined;
  if (!r) return 0;
  if (r.className !== 'L1L2') return `a ${r.className ?? 'custom'} regularizer`;
  if ((r.config?.l1 ?? 0) !== 0) return 'an L1 penalty';
  return Number(r.config?.l2 ?? 0);
}

/** Why a convolution (plain or separable) of `shape` is not one the addon runs; null where it is. */
function convolutionProblem(config: Record<string, unknown>, shape: Shape): string | null {
  const dilations = pair(config.dilationRate);
  if (dilations[0] !== 1 || dilations[1] !== 1) return 'a dilated convolution';
  if (config.dataFormat !== 'channelsLast') return 'channels first';
  if (shape.flat) return 'a convolution of a vector';
  return null;
}

/** A window's kernel, strides and explicit pads as a native layer takes them. */
function windowFields(
  win: Window,
): Pick<NativeLayer, 'kh' | 'kw' | 'sh' | 'sw' | 'padTop' | 'padLeft' | 'padBottom' | 'padRight'> {
  const [padTop, padLeft, padBottom, padRight] = win.pads;
  return {
    kh: win.kernel[0],
    kw: win.kernel[1],
    sh: win.strides[0],
    sw: win.strides[1],
    padTop,
    padLeft,
    padBottom,
    padRight,
  };
}

/** The plan, or why the addon cannot run this model. */
export function planNetwork(model: tf.LayersModel): NetworkPlan | { unsupported: string } {
  const [, height, width, channels] = model.inputs[0].shape as number[];
  if (model.inputs.length !== 1 || model.outputs.length !== 1 || [height, width, channels].some((d) => !d))
    return { unsupported: 'a model without one image input and one output' };
  const plan: NetworkPlan = { input: { channels, height, width }, layers: [], weights: [], masks: [], batchNorms: [] };
  const values = new Map<string, Value>([
    [model.inputs[0].name, { layer: -1, shape: { c: channels, h: height, w: width, flat: false, flattened: false } }],
  ]);
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  for (const [index, layer] of layers.entries()) {
    const cls = layer.getClassName();
    const config = layer.getConfig() as Record<string, unknown>;
    const inputs = (Array.isArray(layer.input) ? layer.input : [layer.input]).map((t) => values.get(t.name));
    if (inputs.some((v) => !v) || layer.inboundNodes.length !== 1)
      return { unsupported: `${layer.name}: a layer applied more than once` };
    const from = inputs as Value[];
    if (cls !== 'Add' && from.length !== 1) return { unsupported: `${layer.name}: ${from.length} inputs` };
    let shape = from[0].shape;
    /** The native layer it adds reads these (omitted: the one added just before). */
    const reading = (natives: number[]) =>
      natives.length === 1 && natives[0] === plan.layers.length - 1 ? {} : { inputs: natives };
    let source = from[0].layer;
    if (!layer.trainable && layer.weights.length > 0) return { unsupported: `${layer.name}: a frozen layer` };
    const last = index === layers.length - 1;
    const activation = (config.activation as string | undefined) ?? 'linear';
    if (activation === 'softmax' && !last) return { unsupported: `${layer.name}: softmax before the output` };
    if (last && activation !== 'softmax') return { unsupported: `${layer.name}: an output without softmax` };
    if (!['linear', 'relu', 'softmax'].includes(activation))
      return { unsupported: `${layer.name}: activation ${activation}` };
    const native = plan.layers.length;
    /** The layer's weights: tfjs' key → the native layer (an offset from the first it adds) and its key there. */
    const hold = (places: Record<string, [number, string]>) => {
      for (const w of layer.weights) {
        const key = w.originalName.split('/').pop()!;
        const place = places[key];
        if (!place) throw new Error(`${layer.name}: weight ${key}`);
        plan.weights.push({
          layer: native + place[0],
          key: place[1],
          variable: w as unknown as tf.LayerVariable,
          shape: w.shape as number[],
        });
      }
    };
    const same: Record<string, [number, string]> = {
      kernel: [0, 'kernel'],
      bias: [0, 'bias'],
      gamma: [0, 'gamma'],
      beta: [0, 'beta'],
      moving_mean: [0, 'moving_mean'],
      moving_variance: [0, 'moving_variance'],
    };
    switch (cls) {
      case 'Conv2D': {
        const problem = convolutionProblem(config, shape);
        if (problem) return { unsupported: `${layer.name}: ${problem}` };
        const win = windowOf(config, [shape.h, shape.w], pair(config.kernelSize), pair(config.strides));
        const units = Number(config.filters);
        const l2 = kernelL2(config, 'kernelRegularizer');
        if (typeof l2 === 'string') return { unsupported: `${layer.name}: ${l2}` };
        plan.layers.push({
          kind: 'conv',
          ...reading([source]),
          ...(l2 > 0 ? { l2 } : {}),
          units,
          ...windowFields(win),
          bias: Boolean(config.useBias),
        });
        hold(same);
        shape = { c: units, h: win.output[0], w: win.output[1], flat: false, flattened: false };
        break;
      }
      case 'SeparableConv2D': {
        // A depthwise convolution (one group per channel) and a pointwise 1×1 one, as Keras' layer is.
        const problem = convolutionProblem(config, shape);
        if (problem) return { unsupported: `${layer.name}: ${problem}` };
        const depthwiseL2 = kernelL2(config, 'depthwiseRegularizer');
        const pointwiseL2 = kernelL2(config, 'pointwiseRegularizer');
        if (typeof depthwiseL2 === 'string') return { unsupported: `${layer.name}: ${depthwiseL2}` };
        if (typeof pointwiseL2 === 'string') return { unsupported: `${layer.name}: ${pointwiseL2}` };
        const win = windowOf(config, [shape.h, shape.w], pair(config.kernelSize), pair(config.strides));
        const multiplier = Number(config.depthMultiplier ?? 1);
        const units = Number(config.filters);
        plan.layers.push(
          {
            kind: 'conv',
            ...reading([source]),
            ...(depthwiseL2 > 0 ? { l2: depthwiseL2 } : {}),
            groups: shape.c,
            units: shape.c * multiplier,
            ...windowFields(win),
          },
          { kind: 'conv', ...(pointwiseL2 > 0 ? { l2: pointwiseL2 } : {}), units, bias: Boolean(config.useBias) },
        );
        hold({ depthwise_kernel: [0, 'kernel'], pointwise_kernel: [1, 'kernel'], bias: [1, 'bias'] });
        shape = { c: units, h: win.output[0], w: win.output[1], flat: false, flattened: false };
        break;
      }
      case 'Dense': {
        const units = Number(config.units);
        const l2 = kernelL2(config, 'kernelRegularizer');
        if (typeof l2 === 'string') return { unsupported: `${layer.name}: ${l2}` };
        plan.layers.push({
          kind: 'dense',
          ...reading([source]),
          ...(l2 > 0 ? { l2 } : {}),
          units,
          bias: Boolean(config.useBias),
        });
        hold(same);
        shape = { c: units, h: 1, w: 1, flat: true, flattened: false };
        break;
      }
      case 'BatchNormalization': {
        const other = kernelL2(config, 'none');
        if (typeof other === 'string') return { unsupported: `${layer.name}: ${other}` };
        const axis = Number(config.axis ?? -1);
        if (axis !== -1 && axis !== (shape.flat ? 1 : 3))
          return { unsupported: `${layer.name}: batch-norm over axis ${axis}` };
        if (config.center === false || config.scale === false)
          return { unsupported: `${layer.name}: batch-norm without its scale or offset` };
        if (shape.flattened) return { unsupported: `${layer.name}: batch-norm of a flattened image` };
        plan.layers.push({
          kind: 'batchNorm',
          ...reading([source]),
          epsilon: Number(config.epsilon ?? 1e-3),
          momentum: Number(config.momentum ?? 0.99),
        });
        plan.batchNorms.push({ layer: native, valuesPerRow: shape.flat ? 1 : shape.h * shape.w });
        hold(same);
        break;
      }
      case 'Activation':
        break;
      case 'AveragePooling2D':
      case 'MaxPooling2D': {
        if (shape.flat) return { unsupported: `${layer.name}: pooling a vector` };
        const kernel = pair(config.poolSize);
        const strides = pair(config.strides ?? config.poolSize);
        const win = windowOf({ padding: config.padding }, [shape.h, shape.w], kernel, strides);
        plan.layers.push({
          kind: cls === 'MaxPooling2D' ? 'maxPool' : 'avgPool',
          ...reading([source]),
          ...windowFields(win),
        });
        shape = { ...shape, h: win.output[0], w: win.output[1] };
        break;
      }
      case 'GlobalAveragePooling2D':
        if (shape.flat) return { unsupported: `${layer.name}: pooling a vector` };
        plan.layers.push({ kind: 'globalAvgPool', ...reading([source]) });
        shape = { c: shape.c, h: 1, w: 1, flat: true, flattened: false };
        break;
      case 'Flatten':
        if (!shape.flat) shape = { ...shape, flat: true, flattened: true };
        break;
      case 'Dropout': {
        const rate = Number(config.rate);
        if (config.noiseShape) return { unsupported: `${layer.name}: dropout with a noise shape` };
        if (rate > 0) {
          plan.layers.push({ kind: 'dropout', ...reading([source]), flatMask: shape.flattened });
          plan.masks.push({ size: shape.c * shape.h * shape.w, rate, seed: Number(config.seed ?? 0) });
        }
        break;
      }
      case 'Add': {
        const same = (a: Shape) => a.c === shape.c && a.h === shape.h && a.w === shape.w && a.flat === shape.flat;
        if (from.length !== 2 || !from.every((v) => same(v.shape)))
          return { unsupported: `${layer.name}: an addition of other than two tensors of one shape` };
        plan.layers.push({ kind: 'add', inputs: from.map((v) => v.layer) });
        break;
      }
      default:
        return { unsupported: `${layer.name}: layer type ${cls}` };
    }
    if (plan.layers.length > native) source = plan.layers.length - 1;
    if (activation === 'relu') {
      plan.layers.push({ kind: 'relu', ...reading([source]) });
      source = plan.layers.length - 1;
    }
    values.set((layer.output as tf.SymbolicTensor).name, { layer: source, shape });
  }
  const output = values.get(model.outputs[0].name);
  if (!output || output.layer !== plan.layers.length - 1)
    return { unsupported: 'an output that is not the last layer computed' };
  return plan;
}
