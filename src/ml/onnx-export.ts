import { onnx } from 'onnx-proto';
import { MLDB_VERSION } from '../version';
import type { tf } from './tf';

/**
 * A saved tfjs layers model as an ONNX model (opset 13), written by walking the layer graph mldb
 * builds: no converter library reads tfjs layers models in Node (tf2onnx and onnxmltools are
 * Python, and need TensorFlow), so the mapping is here, one case per layer type the registry
 * uses. tfjs computes in NHWC, ONNX convolutions in NCHW: the image is transposed once at the
 * input, and back before a Flatten (so that Dense weights keep their order). Padding "same" is
 * SAME_UPPER (TensorFlow puts the odd pixel at the end); average pooling excludes padding, as
 * TensorFlow does. Batch-norm is an ONNX BatchNormalization in inference mode, with the layer's
 * moving statistics. The output is the softmax probabilities, input "image" [N, H, W, C] float32.
 */

const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const ONNX_OPSET = 13;
export const ONNX_INPUT = 'image';
export const ONNX_OUTPUT = 'probabilities';

/** A layer type the converter does not know: which one, so that the message can say. */
export class UnsupportedLayerError extends Error {
  constructor(readonly layer: string) {
    super(`layer type ${layer} has no ONNX conversion`);
  }
}

interface Graph {
  nodes: onnx.INodeProto[];
  initializers: onnx.ITensorProto[];
  /** NCHW value names of 4-D tensors, or names of 2-D [N, features] ones, by tfjs tensor name. */
  values: Map<string, { name: string; rank: number }>;
  counter: number;
}

function tensor(name: string, dims: number[], data: Float32Array): onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

const ints = (name: string, values: number[]): onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INTS,
  ints: values,
});
const int = (name: string, value: number): onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INT,
  i: value,
});
const float = (name: string, value: number): onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.FLOAT,
  f: value,
});
const text = (name: string, value: string): onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.STRING,
  s: new TextEncoder().encode(value),
});

/** [kh, kw, in, out] (tfjs) → [out, in, kh, kw] (ONNX). */
function convKernel(values: Float32Array, [kh, kw, cin, cout]: number[]): Float32Array {
  const out = new Float32Array(values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++)
          out[((o * cin + i) * kh + y) * kw + x] = values[((y * kw + x) * cin + i) * cout + o];
  return out;
}

function weightsOf(layer: tf.layers.Layer): Map<string, { values: Float32Array; shape: number[] }> {
  const map = new Map<string, { values: Float32Array; shape: number[] }>();
  for (const w of layer.weights) {
    const key = w.originalName.split('/').pop()!;
    map.set(key, { values: w.read().dataSync() as Float32Array, shape: w.shape.map(Number) });
  }
  return map;
}

function pads(config: Record<string, unknown>): onnx.IAttributeProto {
  return text('auto_pad', config.padding === 'same' ? 'SAME_UPPER' : 'VALID');
}

function pair(v: unknown): number[] {
  return Array.isArray(v) ? v.map(Number) : [Number(v), Number(v)];
}

/** Appends the nodes for one layer; returns the name and rank of its output. */
function convertLayer(g: Graph, layer: tf.layers.Layer, inputs: Array<{ name: string; rank: number }>) {
  const cls = layer.getClassName();
  const config = layer.getConfig() as Record<string, unknown>;
  const out = `${layer.name}:${g.counter++}`;
  const node = (opType: string, input: string[], output: string, attribute: onnx.IAttributeProto[] = []) =>
    g.nodes.push({ opType, input, output: [output], name: `${layer.name}/${opType}/${g.counter++}`, attribute });
  const init = (suffix: string, dims: number[], data: Float32Array) => {
    const name = `${layer.name}/${suffix}`;
    g.initializers.push(tensor(name, dims, data));
    return name;
  };
  const activation = (input: string, rank: number) => {
    const a = (config.activation as string | undefined) ?? 'linear';
    if (a === 'linear') return { name: input, rank };
    const name = `${out}/${a}`;
    if (a === 'relu') node('Relu', [input], name);
    else if (a === 'softmax') node('Softmax', [input], name, [int('axis', rank === 4 ? 1 : -1)]);
    else throw new UnsupportedLayerError(`${cls} with activation ${a}`);
    return { name, rank };
  };
  const [x] = inputs;
  const w = weightsOf(layer);
  switch (cls) {
    case 'InputLayer':
    case 'Dropout':
      return x;
    case 'Conv2D': {
      const k = w.get('kernel')!;
      const args = [x.name, init('W', [k.shape[3], k.shape[2], k.shape[0], k.shape[1]], convKernel(k.values, k.shape))];
      const b = w.get('bias');
      if (b) args.push(init('B', b.shape, b.values));
      node('Conv', args, out, [
        ints('kernel_shape', [k.shape[0], k.shape[1]]),
        ints('strides', pair(config.strides)),
        ints('dilations', pair(config.dilationRate ?? 1)),
        pads(config),
      ]);
      return activation(out, 4);
    }
    case 'SeparableConv2D': {
      const d = w.get('depthwise_kernel')!;
      const p = w.get('pointwise_kernel')!;
      const [kh, kw, cin, mult] = d.shape;
      const mid = `${out}/depthwise`;
      // A depthwise kernel [kh, kw, in, multiplier] is laid out as a conv kernel [kh, kw, 1, in × multiplier]
      // whose output channel i × multiplier + m is ONNX's grouped channel: the same transpose serves.
      const depthwise = convKernel(d.values, [kh, kw, 1, cin * mult]);
      node('Conv', [x.name, init('depthwise', [cin * mult, 1, kh, kw], depthwise)], mid, [
        ints('kernel_shape', [kh, kw]),
        ints('strides', pair(config.strides)),
        ints('dilations', pair(config.dilationRate ?? 1)),
        int('group', cin),
        pads(config),
      ]);
      const args = [mid, init('pointwise', [p.shape[3], p.shape[2], 1, 1], convKernel(p.values, p.shape))];
      const b = w.get('bias');
      if (b) args.push(init('B', b.shape, b.values));
      node('Conv', args, out, [ints('kernel_shape', [1, 1])]);
      return activation(out, 4);
    }
    case 'BatchNormalization': {
      const mean = w.get('moving_mean')!;
      const variance = w.get('moving_variance')!;
      const channels = mean.shape[0];
      const gamma = w.get('gamma')?.values ?? new Float32Array(channels).fill(1);
      const beta = w.get('beta')?.values ?? new Float32Array(channels);
      node(
        'BatchNormalization',
        [
          x.name,
          init('scale', [channels], gamma),
          init('B', [channels], beta),
          init('mean', [channels], mean.values),
          init('var', [channels], variance.values),
        ],
        out,
        [float('epsilon', Number(config.epsilon ?? 1e-3))],
      );
      return { name: out, rank: x.rank };
    }
    case 'Activation':
      return activation(x.name, x.rank);
    case 'ReLU':
      node('Relu', [x.name], out);
      return { name: out, rank: x.rank };
    case 'AveragePooling2D':
    case 'MaxPooling2D': {
      const attrs = [ints('kernel_shape', pair(config.poolSize)), ints('strides', pair(config.strides)), pads(config)];
      if (cls === 'AveragePooling2D') attrs.push(int('count_include_pad', 0));
      node(cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [x.name], out, attrs);
      return { name: out, rank: 4 };
    }
    case 'GlobalAveragePooling2D': {
      node('GlobalAveragePool', [x.name], `${out}/pooled`);
      node('Flatten', [`${out}/pooled`], out, [int('axis', 1)]);
      return { name: out, rank: 2 };
    }
    case 'Flatten': {
      if (x.rank !== 4) return x;
      // Keras flattens NHWC: back to that order first, so that the next Dense's weights line up.
      node('Transpose', [x.name], `${out}/nhwc`, [ints('perm', [0, 2, 3, 1])]);
      node('Flatten', [`${out}/nhwc`], out, [int('axis', 1)]);
      return { name: out, rank: 2 };
    }
    case 'Dense': {
      const k = w.get('kernel')!;
      const b = w.get('bias');
      const args = [x.name, init('W', k.shape, k.values)];
      if (b) args.push(init('B', b.shape, b.values));
      node('Gemm', args, out);
      return activation(out, 2);
    }
    case 'Add': {
      node('Add', [inputs[0].name, inputs[1].name], out);
      for (const extra of inputs.slice(2)) {
        const next = `${out}/+${extra.name}`;
        node('Add', [g.nodes[g.nodes.length - 1].output![0], extra.name], next);
      }
      return { name: g.nodes[g.nodes.length - 1].output![0], rank: x.rank };
    }
    default:
      throw new UnsupportedLayerError(cls);
  }
}

/**
 * The ONNX model's bytes for a tfjs layers model that takes [N, H, W, C] and outputs class
 * probabilities. `properties` become the file's metadata_props (labels, preprocessing), so that
 * the file alone says how to feed it and read its answer.
 */
export function toOnnx(model: tf.LayersModel, properties: Record<string, string> = {}): Uint8Array {
  const [h, w, c] = model.inputs[0].shape.slice(1) as number[];
  const numClasses = model.outputs[0].shape[1] as number;
  const g: Graph = { nodes: [], initializers: [], values: new Map(), counter: 0 };
  g.nodes.push({
    opType: 'Transpose',
    input: [ONNX_INPUT],
    output: ['image_nchw'],
    name: 'input/Transpose',
    attribute: [ints('perm', [0, 3, 1, 2])],
  });
  g.values.set(model.inputs[0].name, { name: 'image_nchw', rank: 4 });
  for (const layer of model.layers) {
    const inbound = ([] as tf.SymbolicTensor[]).concat(layer.input as tf.SymbolicTensor | tf.SymbolicTensor[]);
    const inputs = inbound.map((t) => {
      const v = g.values.get(t.name);
      if (!v) throw new Error(`layer ${layer.name}: input ${t.name} was not converted before it`);
      return v;
    });
    g.values.set((layer.output as tf.SymbolicTensor).name, convertLayer(g, layer, inputs));
  }
  const last = g.values.get(model.outputs[0].name)!;
  g.nodes.push({ opType: 'Identity', input: [last.name], output: [ONNX_OUTPUT], name: 'output/Identity' });
  const valueInfo = (name: string, dims: Array<number | string>) => ({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'mldb',
    producerVersion: MLDB_VERSION,
    metadataProps: Object.entries(properties).map(([key, value]) => ({ key, value })),
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    graph: {
      name: model.name,
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(ONNX_INPUT, ['N', h, w, c])],
      output: [valueInfo(ONNX_OUTPUT, ['N', numClasses])],
    },
  });
  return onnx.ModelProto.encode(proto).finish();
}
