/**
 * The one place mldb loads TensorFlow.js from. The @tensorflow/tfjs bundle (unlike tfjs-core
 * alone) registers the gradients and chained ops that training needs, and the cpu backend.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
