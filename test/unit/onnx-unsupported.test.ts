import { EXIT } from '../../src/errors';
import { trainingGraph } from '../../src/ml/onnx/training-graph';
import { tf } from '../../src/ml/tf';

test('a layer type the ONNX walk lacks is one error naming the layer and what to do, not a crash', () => {
  const input = tf.input({ shape: [8, 8, 1], name: 'image' });
  const noisy = tf.layers.gaussianNoise({ stddev: 0.1, name: 'noise' }).apply(input) as tf.SymbolicTensor;
  const flat = tf.layers.flatten({ name: 'flatten' }).apply(noisy) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: 2, activation: 'softmax', name: 'predictions' })
    .apply(flat) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  try {
    expect(() => trainingGraph(model, { optimizer: 'sgd' })).toThrow(
      expect.objectContaining({
        exitCode: EXIT.INVALID_DATA,
        message: 'layer type GaussianNoise (layer noise) has no ONNX conversion',
        line: expect.stringMatching(/: train it with --backend wasm, or add the layer type to src\/ml\/onnx\/layers/),
      }),
    );
  } finally {
    model.dispose();
  }
});
