import type { tf as TF } from '../tf';
import { mulberry32 } from '../seeded';
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

/**
 * Replicas of one model in data-parallel training must not draw the same dropout masks: each
 * sets its own salt before building (0, the default, is the single-process stream).
 */
let dropoutSalt = 0;
export function setDropoutSalt(salt: number): void {
  dropoutSalt = salt;
}

/**
 * While set, dropout layers act as at inference even in training mode: precise-bn.ts's statistics
 * pass, which must neither draw masks (the training's mask sequence would shift) nor measure the
 * inflated variance dropout causes, which evaluation never sees.
 */
let dropoutHeld = false;
export async function withDropoutHeld<T>(fn: () => Promise<T>): Promise<T> {
  dropoutHeld = true;
  try {
    return await fn();
  } finally {
    dropoutHeld = false;
  }
}

type DropoutConstructor = new (args: { rate: number; seed?: number; name?: string }) => TF.layers.Layer;
const fresh = new WeakMap<object, DropoutConstructor>();

/**
 * tfjs's Dropout, given a seed, restarts its generator from that seed on every call: the same
 * units are dropped in every batch, for ever. This subclass draws a new seed per call from a
 * seeded stream — a fresh mask each batch, the same sequence for the same seed — and serialises
 * as a plain `Dropout`, so stock tfjs loads the saved model.
 */
function seededDropoutClass(tf: Tf): DropoutConstructor {
  const cached = fresh.get(tf);
  if (cached) return cached;
  const Base = tf.layers.dropout({ rate: 0.5 }).constructor as unknown as new (
    args: object,
  ) => TF.layers.Layer & { seed?: number };
  class FreshMaskDropout extends Base {
    static className = 'Dropout';
    readonly #next: () => number;
    constructor(args: { rate: number; seed?: number; name?: string }) {
      super(args);
      this.#next = mulberry32(((args.seed ?? 0) ^ Math.imul(dropoutSalt, 0x9e3779b1)) >>> 0);
    }
    override call(inputs: TF.Tensor | TF.Tensor[], kwargs: Record<string, unknown>): TF.Tensor | TF.Tensor[] {
      if (dropoutHeld) return super.call(inputs, { ...kwargs, training: false });
      if (kwargs?.training) this.seed = Math.floor(this.#next() * 2 ** 31);
      return super.call(inputs, kwargs);
    }
  }
  fresh.set(tf, FreshMaskDropout);
  return FreshMaskDropout;
}

export function dropout(tf: Tf, seeds: Seeds, x: Sym, rate: number, name: string): Sym {
  const Dropout = seededDropoutClass(tf);
  return new Dropout({ rate, seed: seeds.take(), name }).apply(x) as Sym;
}

/** conv(num_classes) → global average pool → softmax: the head of the Keras originals. */
export function convHead(tf: Tf, seeds: Seeds, x: Sym, numClasses: number): Sym {
  let y = conv(tf, seeds, x, { filters: numClasses, kernel: 3, name: 'head_conv' });
  y = tf.layers.globalAveragePooling2d({ name: 'head_pool' }).apply(y) as Sym;
  return tf.layers.activation({ activation: 'softmax', name: 'predictions' }).apply(y) as Sym;
}
