import path from 'node:path';

/**
 * mldb's own native addon (native/onednn): a network trained on oneDNN's primitives,
 * built from source at `npm run build` where oneDNN's headers are installed (Debian: libdnnl-dev).
 * Nothing imports it at compile time: where it is not built, `--backend onednn` says why and the
 * other engines train.
 */

/** One layer as the addon takes it (native/onednn/addon.cc, specOf). */
export interface NativeLayer {
  kind: 'conv' | 'dense' | 'batchNorm' | 'relu' | 'avgPool' | 'maxPool' | 'globalAvgPool' | 'dropout' | 'add';
  /** The native layers whose outputs it reads (-1: the image); omitted: the layer before it. */
  inputs?: number[];
  units?: number;
  kh?: number;
  kw?: number;
  sh?: number;
  sw?: number;
  padTop?: number;
  padLeft?: number;
  padBottom?: number;
  padRight?: number;
  bias?: boolean;
  /** A convolution's groups: its input channels for a depthwise one. */
  groups?: number;
  /** Keras' L2 factor on the kernel. */
  l2?: number;
  epsilon?: number;
  momentum?: number;
  /** A dropout's mask laid out as the flattened NHWC vector (after a Flatten) rather than NCHW. */
  flatMask?: boolean;
}

/** Adam's per-step scalars in float32, as onnx/optimizer-rules.ts computes them for tfjs' rule. */
export interface AdamScalars {
  beta1: number;
  oneMinusBeta1: number;
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
  negLr: number;
}

export interface NativeNetwork {
  readonly classes: number;
  setWeight(layer: number, key: string, values: Float32Array): void;
  getWeight(layer: number, key: string, out: Float32Array): void;
  step(
    images: Float32Array,
    targets: Float32Array,
    n: number,
    masks: Float32Array[],
    scalars: AdamScalars,
    softTargets: boolean,
  ): Promise<{ loss: number; probabilities: Float32Array }>;
  predict(images: Float32Array, n: number): Promise<Float32Array>;
  moments(images: Float32Array, n: number): Promise<Array<{ mean: Float32Array; variance: Float32Array }>>;
  /** Frees the network's tensors now; any later call is an error. */
  release(): void;
}

export interface OneDnnBinding {
  /** oneDNN's version, e.g. "2.6.3". */
  version: string;
  Network: new (input: { channels: number; height: number; width: number }, layers: NativeLayer[]) => NativeNetwork;
}

/** Where `npm run build` leaves the addon, from dist/ml/onednn/. */
export const ADDON_PATH = path.join(
  __dirname,
  '..',
  '..',
  '..',
  'native',
  'onednn',
  'build',
  'Release',
  'mldb_onednn.node',
);

export const ONEDNN_INSTALL =
  'install oneDNN (Debian/Ubuntu: apt-get install libdnnl-dev), then build mldb’s addon ' +
  '(node scripts/build-native.js in mldb’s folder)';

let loaded: { binding: OneDnnBinding } | { unavailable: string } | undefined;

/** The addon when it was built and loads here; why not otherwise. */
export function loadOneDnn(): { binding: OneDnnBinding } | { unavailable: string } {
  if (loaded) return loaded;
  try {
    loaded = { binding: require(ADDON_PATH) as OneDnnBinding };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    loaded = {
      unavailable:
        code === 'MODULE_NOT_FOUND'
          ? 'mldb’s oneDNN addon is not built (oneDNN’s headers were missing when mldb was built)'
          : `mldb’s oneDNN addon did not load: ${(e as Error).message.split('\n')[0]}`,
    };
  }
  return loaded;
}
