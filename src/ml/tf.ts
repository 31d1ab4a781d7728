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
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}
silenceCpuBanner();

export { tf };
