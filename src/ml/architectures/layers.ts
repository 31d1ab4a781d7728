import type { tf as TF } from '../tf';
import type { Seeds } from './types';

type Tf = typeof TF;
type Sym = TF.SymbolicTensor;

/**
 * Small helpers shared by the builders: seeded initializers and the conv → BN → ReLU blocks
 * that the original Keras models repeat. Layer names are systematic: `<prefix>_<kind>`.
 */
export function glorot(tf: Tf, seeds: Seeds) {
  return tf.initializers.glorotUniform({ seed: seeds.take() });
}

export interface ConvSpec {
  filters: number;
  kernel: number;
  strides?: number;
  padding?: 'same' | 'valid';
  useBias?: boolean;
  l2?: number;
  name: string;
}

export function conv(tf: Tf, seeds: Seeds, x: Sym, s: ConvSpec): Sym {
  return tf.layers
    .conv2d({
      filters: s.filters,
      kernelSize: s.kernel,
      strides: s.strides ?? 1,
      padding: s.padding ?? 'same',
      useBias: s.useBias ?? true,
      kernelInitializer: glorot(tf, seeds),
      kernelRegularizer: s.l2 ? tf.regularizers.l2({ l2: s.l2 }) : undefined,
      name: s.name,
    })
    .apply(x) as Sym;
}

export function separable(tf: Tf, seeds: Seeds, x: Sym, s: ConvSpec): Sym {
  // tfjs separable convs take depthwise/pointwise regularizers, not kernelRegularizer.
  const reg = s.l2 ? tf.regularizers.l2({ l2: s.l2 }) : undefined;
  return tf.layers
    .separableConv2d({
      filters: s.filters,
      kernelSize: s.kernel,
      padding: s.padding ?? 'same',
      useBias: s.useBias ?? true,
      depthwiseInitializer: glorot(tf, seeds),
      pointwiseInitializer: glorot(tf, seeds),
      depthwiseRegularizer: reg,
      pointwiseRegularizer: reg,
      name: s.name,
    })
    .apply(x) as Sym;
}

export function bn(tf: Tf, x: Sym, name: string): Sym {
  return tf.layers.batchNormalization({ name }).apply(x) as Sym;
}

export function relu(tf: Tf, x: Sym, name: string): Sym {
  return tf.layers.activation({ activation: 'relu', name }).apply(x) as Sym;
}

export function dropout(tf: Tf, seeds: Seeds, x: Sym, rate: number, name: string): Sym {
  return tf.layers.dropout({ rate, seed: seeds.take(), name }).apply(x) as Sym;
}

/** conv(num_classes) → global average pool → softmax: the head of the Keras originals. */
export function convHead(tf: Tf, seeds: Seeds, x: Sym, numClasses: number): Sym {
  let y = conv(tf, seeds, x, { filters: numClasses, kernel: 3, name: 'head_conv' });
  y = tf.layers.globalAveragePooling2d({ name: 'head_pool' }).apply(y) as Sym;
  return tf.layers.activation({ activation: 'softmax', name: 'predictions' }).apply(y) as Sym;
}
