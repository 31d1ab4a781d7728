import type { tf as TF } from '../tf';
import { bn, conv, convHead, relu, separable } from './layers';
import { Seeds, type Architecture, type BuildOptions } from './types';

type Tf = typeof TF;
type Sym = TF.SymbolicTensor;

/**
 * The Xception-style family of the original (oarriaga/face_classification, after Chollet's
 * Xception): a stem of plain convolutions, then residual modules of [separable conv → BN → ReLU
 * → separable conv → BN → 3×3/2 max pool] added to a 1×1 stride-2 conv + BN shortcut, then
 * conv(num_classes) → global average pool → softmax. tiny/mini carry L2 0.01 on the kernels.
 */
interface XceptionSpec {
  name: string;
  /** The smallest height and width whose last pooling still has a pixel (measured: architecture-sizes.test). */
  minSize: number;
  stem: Array<{ filters: number; strides: number }>;
  modules: number[];
  l2?: number;
}

function module(tf: Tf, seeds: Seeds, x: Sym, filters: number, i: number, l2?: number): Sym {
  const p = `module${i + 1}`;
  let shortcut = conv(tf, seeds, x, { filters, kernel: 1, strides: 2, useBias: false, name: `${p}_shortcut_conv` });
  shortcut = bn(tf, shortcut, `${p}_shortcut_bn`);
  let y = separable(tf, seeds, x, { filters, kernel: 3, useBias: false, l2, name: `${p}_sepconv1` });
  y = bn(tf, y, `${p}_bn1`);
  y = relu(tf, y, `${p}_relu`);
  y = separable(tf, seeds, y, { filters, kernel: 3, useBias: false, l2, name: `${p}_sepconv2` });
  y = bn(tf, y, `${p}_bn2`);
  y = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: `${p}_pool` }).apply(y) as Sym;
  return tf.layers.add({ name: `${p}_add` }).apply([y, shortcut]) as Sym;
}

function xception(spec: XceptionSpec, origin: string): Architecture {
  return {
    name: spec.name,
    minSize: spec.minSize,
    origin,
    build(tf: Tf, { inputShape, numClasses, seed }: BuildOptions) {
      const seeds = new Seeds(seed);
      const input = tf.input({ shape: inputShape, name: 'image' });
      let x: Sym = input;
      spec.stem.forEach((s, i) => {
        x = conv(tf, seeds, x, {
          filters: s.filters,
          kernel: 3,
          strides: s.strides,
          padding: 'valid',
          useBias: false,
          l2: spec.l2,
          name: `stem_conv${i + 1}`,
        });
        x = bn(tf, x, `stem_bn${i + 1}`);
        x = relu(tf, x, `stem_relu${i + 1}`);
      });
      spec.modules.forEach((f, i) => (x = module(tf, seeds, x, f, i, spec.l2)));
      return tf.model({ inputs: input, outputs: convHead(tf, seeds, x, numClasses), name: spec.name });
    },
  };
}

export const tinyXception = xception(
  {
    name: 'tiny_xception',
    minSize: 5,
    stem: [
      { filters: 5, strides: 1 },
      { filters: 5, strides: 1 },
    ],
    modules: [8, 16, 32, 64],
    l2: 0.01,
  },
  'tiny_XCEPTION, oarriaga/face_classification (Keras)',
);

export const miniXception = xception(
  {
    name: 'mini_xception',
    minSize: 5,
    stem: [
      { filters: 8, strides: 1 },
      { filters: 8, strides: 1 },
    ],
    modules: [16, 32, 64, 128],
    l2: 0.01,
  },
  'mini_XCEPTION, oarriaga/face_classification (Keras)',
);

export const bigXception = xception(
  {
    name: 'big_xception',
    minSize: 7,
    stem: [
      { filters: 32, strides: 2 },
      { filters: 64, strides: 1 },
    ],
    modules: [128, 256],
  },
  'big_XCEPTION, oarriaga/face_classification (Keras)',
);
