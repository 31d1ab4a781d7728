import type { tf } from '../tf';
import { GraphBuilder } from './graph';
import { IMAGE_INPUT, walkModel } from './layer-walk';

/**
 * A saved tfjs layers model as an ONNX model, written by walking the layer graph mldb builds: no
 * converter library reads tfjs layers models in Node (tf2onnx and onnxmltools are Python, and need
 * TensorFlow). Weights are initializers, batch-norm uses its moving statistics, dropout is off.
 * Input "image" [N, H, W, C] float32, output the softmax probabilities [N, classes].
 */

export const ONNX_INPUT = IMAGE_INPUT;
export const ONNX_OUTPUT = 'probabilities';

export function toOnnx(model: tf.LayersModel, properties: Record<string, string> = {}): Uint8Array {
  const g = new GraphBuilder();
  const walk = walkModel(model, g, { mode: 'inference', weights: 'initializers' });
  g.node('Identity', [walk.output.name], [], ONNX_OUTPUT);
  g.output(ONNX_OUTPUT, ['N', ...walk.output.dims]);
  return g.encode(model.name, properties);
}
