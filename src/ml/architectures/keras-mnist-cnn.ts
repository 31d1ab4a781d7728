import { dropout } from './layers';
import { Seeds, type Architecture } from './types';

/**
 * The Keras examples' MNIST CNN (keras/examples/mnist_cnn.py), the reference everyone knows:
 * conv 32 3×3 → conv 64 3×3 (ReLU, valid) → 2×2 max pool → dropout 0.25 → dense 128 (ReLU) →
 * dropout 0.5 → softmax. It reached 99.25% test accuracy on the full 60,000 MNIST images.
 */
export const kerasMnistCnn: Architecture = {
  name: 'keras_mnist_cnn',
  origin: 'mnist_cnn.py, the Keras examples',
  minSize: 6,
  build(tf, { inputShape, numClasses, seed }) {
    const seeds = new Seeds(seed);
    const init = () => tf.initializers.glorotUniform({ seed: seeds.take() });
    type Sym = ReturnType<typeof tf.input>;
    const input = tf.input({ shape: inputShape, name: 'image' });
    const conv = (x: Sym, filters: number, name: string) =>
      tf.layers.conv2d({ filters, kernelSize: 3, activation: 'relu', kernelInitializer: init(), name }).apply(x) as Sym;
    let x = conv(conv(input, 32, 'conv1'), 64, 'conv2');
    x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(x) as Sym;
    x = dropout(tf, seeds, x, 0.25, 'dropout1');
    x = tf.layers.flatten({ name: 'flatten' }).apply(x) as Sym;
    x = tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init(), name: 'dense' }).apply(x) as Sym;
    x = dropout(tf, seeds, x, 0.5, 'dropout2');
    const out = tf.layers
      .dense({ units: numClasses, activation: 'softmax', kernelInitializer: init(), name: 'predictions' })
      .apply(x) as Sym;
    return tf.model({ inputs: input, outputs: out, name: 'keras_mnist_cnn' });
  },
};
