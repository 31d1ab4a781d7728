/**
 * The one place mldb loads TensorFlow.js from. The @tensorflow/tfjs bundle (unlike tfjs-core
 * alone) registers the gradients and chained ops that training needs, and the cpu backend.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * The cpu backend prints a banner asking to install tfjs-node the first time it holds data. mldb
 * says which backend it chose and why (see backend.ts), so the banner would only be noise in the
 * middle of a command's output; it is switched off here, once.
 */
function silenceCpuBanner(): void {
  // The engine may create the backend afresh (each initialisation calls the factory again), so
  // the factory itself is wrapped rather than one instance patched.
  const entry = (tf.engine() as unknown as { registryFactory: Record<string, { factory: () => unknown }> })
    .registryFactory.cpu;
  if (!entry) return;
  const make = entry.factory;
  entry.factory = () => {
    const backend = make() as { firstUse?: boolean } | Promise<unknown>;
    if (backend && typeof backend === 'object' && 'firstUse' in backend) backend.firstUse = false;
    return backend;
  };
}
silenceCpuBanner();

export { tf };
