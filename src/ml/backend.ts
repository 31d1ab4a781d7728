import { tf } from './tf';
import { registerKernel, unregisterKernel, getKernel } from '@tensorflow/tfjs';
import { UsageError } from '../errors';
import { fastConvGradKernels } from './kernels/conv2d-grads';
import { cpuFallbackKernel, registerCpuFallbacks } from './kernels/cpu-fallback';
import { installBatchNormGradient } from './kernels/batchnorm-grad';
import { installAvgPoolGradient } from './kernels/avgpool-grad';

import { BACKENDS, type BackendChoice, type BackendName } from './backend-names';

export { BACKENDS, type BackendChoice, type BackendName } from './backend-names';

export interface ActiveBackend {
  name: BackendName;
  /** Why this backend, for the line the CLI prints. */
  reason: string;
}

let wasmPatched = false;

/**
 * wasm kernels whose results are wrong, replaced by the cpu backend's: MaxPoolGrad misplaces the
 * gradient of every window whose values are negative (as after batch-norm, where the Xception
 * models pool): it is right only for inputs ≥ 0, as after a ReLU.
 */
const WRONG_ON_WASM = ['MaxPoolGrad'];

/** Fast convolution gradients for wasm, cpu kernels for its wrong ones and for every kernel it lacks. */
export function patchWasmKernels(): void {
  if (wasmPatched) return;
  const replaced = [...fastConvGradKernels('wasm'), ...WRONG_ON_WASM.map((k) => cpuFallbackKernel(k, 'wasm')!)];
  for (const k of replaced) {
    if (getKernel(k.kernelName, 'wasm')) unregisterKernel(k.kernelName, 'wasm');
    registerKernel(k);
  }
  registerCpuFallbacks('wasm', new Set(replaced.map((k) => k.kernelName)));
  wasmPatched = true;
}

/**
 * How to add the native TensorFlow backend: not a dependency of mldb, because its install script
 * downloads TensorFlow 2.9 (which fails offline, and which npm runs only when allowed).
 */
export const TFJS_NODE_INSTALL =
  'npm install @tensorflow/tfjs-node@4.22.0 --allow-scripts=@tensorflow/tfjs-node (its script fetches TensorFlow 2.9)';

/** Whether @tensorflow/tfjs-node loads here, and why not: it needs the native library its install script downloads. */
export function probeTensorflow(): { loaded: true } | { loaded: false; reason: string } {
  try {
    require('@tensorflow/tfjs-node');
  } catch (e) {
    const notInstalled =
      (e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && /tfjs-node'/.test((e as Error).message);
    return {
      loaded: false,
      reason: notInstalled
        ? '@tensorflow/tfjs-node is not installed'
        : `@tensorflow/tfjs-node did not load: ${(e as Error).message.split('\n')[0]}`,
    };
  }
  const registered = tf.findBackend('tensorflow') !== undefined || tf.engine().registryFactory.tensorflow !== undefined;
  return registered ? { loaded: true } : { loaded: false, reason: '@tensorflow/tfjs-node registered no backend' };
}

/** Whether a tfjs backend initialises here (wasm needs its .wasm files beside the package). */
export async function probeBackend(name: 'wasm' | 'cpu'): Promise<boolean> {
  return activate(name);
}

async function activate(name: BackendName): Promise<boolean> {
  if (name === 'wasm') {
    require('@tensorflow/tfjs-backend-wasm');

    patchWasmKernels();
  }

  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

/**
 * tensorflow (native, via the optional @tensorflow/tfjs-node) when it loads, else wasm, else
 * cpu. An explicit choice that cannot load is an error rather than a silent downgrade.
 */
export async function selectBackend(choice: BackendChoice = 'auto'): Promise<ActiveBackend> {
  if (!(BACKENDS as readonly string[]).includes(choice)) {
    throw new UsageError(`unknown backend "${choice}"`, `use one of ${BACKENDS.join(', ')}`);
  }
  installBatchNormGradient(); // a gradient, not a kernel: faster on every backend
  installAvgPoolGradient(); // consistent with its forward pass at padded borders
  if (choice === 'tensorflow' || choice === 'auto') {
    if (probeTensorflow().loaded && (await activate('tensorflow')))
      return { name: 'tensorflow', reason: 'native TensorFlow (@tensorflow/tfjs-node)' };
    if (choice === 'tensorflow') {
      throw new UsageError('the tensorflow backend is not available', `${TFJS_NODE_INSTALL}, or use --backend wasm`);
    }
  }
  if (choice === 'wasm' || choice === 'auto') {
    if (await activate('wasm')) {
      return {
        name: 'wasm',
        reason:
          choice === 'auto'
            ? '@tensorflow/tfjs-node is not installed; wasm (XNNPACK) is the fastest available'
            : 'requested',
      };
    }
    if (choice === 'wasm') throw new UsageError('the wasm backend failed to initialise', 'use --backend cpu');
  }
  await activate('cpu');
  return { name: 'cpu', reason: choice === 'auto' ? 'neither tensorflow nor wasm could load' : 'requested' };
}
