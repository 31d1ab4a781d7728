import { onnx } from 'onnx-proto';
import { MLDB_VERSION } from '../../version';

/**
 * A small builder for ONNX graphs: nodes with generated names, float and int64 constants (shared
 * when equal), graph inputs and outputs with a symbolic batch dimension. Every graph mldb writes
 * (the export, the training step, evaluation and batch-norm statistics) is built with it.
 */

/** opset 17: ScatterElements with reduction (max-pool gradients), ReduceSumSquare with axes as an attribute. */
export const OPSET = 17;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

export type Attribute = onnx.IAttributeProto;

export const ints = (name: string, values: number[]): Attribute => ({
  name,
  type: onnx.AttributeProto.AttributeType.INTS,
  ints: values,
});
export const int = (name: string, value: number): Attribute => ({
  name,
  type: onnx.AttributeProto.AttributeType.INT,
  i: value,
});
export const float = (name: string, value: number): Attribute => ({
  name,
  type: onnx.AttributeProto.AttributeType.FLOAT,
  f: value,
});
export const text = (name: string, value: string): Attribute => ({
  name,
  type: onnx.AttributeProto.AttributeType.STRING,
  s: new TextEncoder().encode(value),
});

/** A dimension: a size, or a name for one given at run time (the batch, "N"). */
export type Dim = number | string;

/** How the graph may use onnxruntime's NCHWc kernels (nchwc.ts). */
export interface KernelOptions {
  /** The machine's NCHWc block (8 or 16 channels); 0: plain convolutions only. */
  nchwcBlock: number;
  /** Every batch this graph runs has a multiple of nchwcBlock rows (kernel gradients may block over the batch). */
  batchAligned: boolean;
  /** The one batch size this graph runs, where fixed (depthwise kernel gradients then group by image plane). */
  batch?: number;
}

export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly #domains = new Set<string>();
  readonly initializers: onnx.ITensorProto[] = [];
  readonly inputs: onnx.IValueInfoProto[] = [];
  readonly outputs: onnx.IValueInfoProto[] = [];
  readonly #constants = new Map<string, string>();
  #counter = 0;
  /** Prefixes node names (the layer and pass they belong to), so that profiles read by layer. */
  scope = '';

  constructor(readonly kernels: KernelOptions = { nchwcBlock: 0, batchAligned: false }) {}

  /** Runs `build` with `part` appended to the scope (node names say which gradient a node computes). */
  within<T>(part: string, build: () => T): T {
    const outer = this.scope;
    this.scope = `${outer}/${part}`;
    try {
      return build();
    } finally {
      this.scope = outer;
    }
  }

  /** A fresh value name starting with `base`. */
  unique(base: string): string {
    return `${base}:${this.#counter++}`;
  }

  /** Appends a node; returns its output names (`outputs` of them, or the names given). */
  nodeN(
    opType: string,
    inputs: string[],
    outputs: number | string[],
    attribute: Attribute[] = [],
    domain?: string,
  ): string[] {
    const names = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.unique(opType)) : outputs;
    if (domain) this.#domains.add(domain);
    this.nodes.push({
      opType,
      input: inputs,
      output: names,
      name: this.unique(`${this.scope}/${opType}`),
      attribute,
      domain,
    });
    return names;
  }

  /** Appends a node with one output; returns its name (`output` when given). */
  node(opType: string, inputs: string[], attribute: Attribute[] = [], output?: string): string {
    return this.nodeN(opType, inputs, output ? [output] : 1, attribute)[0];
  }

  /** A float32 initializer under `name`. */
  floats(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({
      name,
      dims,
      dataType: FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  /** A float32 scalar constant, one initializer per distinct value. */
  scalar(value: number): string {
    return this.#shared(`f:${value}`, () => this.floats(this.unique('const'), [], Float32Array.of(value)));
  }

  /** A float32 constant of one value per channel, shaped to broadcast over NCHW ([1, C, 1, 1]) or as given. */
  constant(dims: number[], data: Float32Array): string {
    return this.floats(this.unique('const'), dims, data);
  }

  /** A 1-D int64 constant (shapes, axes, slice bounds), shared when equal. */
  int64s(values: number[]): string {
    return this.#shared(`i:${values.join(',')}`, () => {
      const name = this.unique('shape');
      this.initializers.push({ name, dims: [values.length], dataType: INT64, int64Data: values });
      return name;
    });
  }

  /**
   * A value made once per key: asked for again (the same tensor reordered for two convolutions),
   * the first node's output. Only for nodes whose output depends on their inputs alone.
   */
  once(key: string, make: () => string): string {
    return this.#shared(`n:${key}`, make);
  }

  #shared(key: string, make: () => string): string {
    let name = this.#constants.get(key);
    if (!name) {
      name = make();
      this.#constants.set(key, name);
    }
    return name;
  }

  /**
   * Makes the value `value` a graph output named `name`: the node computing it writes there
   * directly (renamed, consumers included), so that onnxruntime writes into the caller's buffer
   * with no copy. Call it once nothing more will read `value` under its old name. A graph input,
   * or a value already an output, is copied by an Identity instead.
   */
  emit(value: string, name: string, dims: Dim[]): string {
    const producer = this.nodes.find((n) => n.output?.includes(value));
    const isOutput = this.outputs.some((o) => o.name === value);
    if (!producer || isOutput) this.node('Identity', [value], [], name);
    else {
      producer.output = producer.output!.map((o) => (o === value ? name : o));
      for (const n of this.nodes) n.input = n.input!.map((i) => (i === value ? name : i));
    }
    return this.output(name, dims);
  }

  input(name: string, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  output(name: string, dims: Dim[]): string {
    this.outputs.push(valueInfo(name, dims));
    return name;
  }

  /** The model's bytes; `properties` become its metadata_props. */
  encode(graphName: string, properties: Record<string, string> = {}): Uint8Array {
    const proto = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'mldb',
      producerVersion: MLDB_VERSION,
      metadataProps: Object.entries(properties).map(([key, value]) => ({ key, value })),
      opsetImport: [{ domain: '', version: OPSET }, ...[...this.#domains].map((domain) => ({ domain, version: 1 }))],
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(proto).finish();
  }
}

function valueInfo(name: string, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}
