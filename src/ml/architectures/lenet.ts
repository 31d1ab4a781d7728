import { Seeds, type Architecture } from './types';

/**
 * LeNet-5 (LeCun et al., 1998) in its common modern form: conv 6 5×5 → avg pool → conv 16 5×5 →
 * avg pool → dense 120 → dense 84 → softmax, with ReLU.
 */
export const lenet5: Architecture = {
  name: 'lenet5',
  origin: 'LeNet-5, LeCun et al. 1998',
  minSize: 4,
  build(tf, { inputShape, numClasses, seed }) {
    const seeds = new Seeds(seed);
    const init = () => tf.initializers.glorotUniform({ seed: seeds.take() });
    const model = tf.sequential({ name: 'lenet5' });
    model.add(
      tf.layers.conv2d({
        inputShape,
        filters: 6,
        kernelSize: 5,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init(),
        name: 'c1',
      }),
    );
    model.add(tf.layers.averagePooling2d({ poolSize: 2, name: 's2' }));
    model.add(
      tf.layers.conv2d({
        filters: 16,
        kernelSize: 5,
        padding: inputShape[0] < 16 ? 'same' : 'valid',
        activation: 'relu',
        kernelInitializer: init(),
        name: 'c3',
      }),
    );
    model.add(tf.layers.averagePooling2d({ poolSize: 2, name: 's4' }));
    model.add(tf.layers.flatten({ name: 'flatten' }));
    model.add(tf.layers.dense({ units: 120, activation: 'relu', kernelInitializer: init(), name: 'f5' }));
    model.add(tf.layers.dense({ units: 84, activation: 'relu', kernelInitializer: init(), name: 'f6' }));
    model.add(
      tf.layers.dense({ units: numClasses, activation: 'softmax', kernelInitializer: init(), name: 'predictions' }),
    );
    return model;
  },
};
