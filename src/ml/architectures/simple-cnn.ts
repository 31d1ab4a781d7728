import { bn, conv, convHead, dropout, relu } from './layers';
import { Seeds, type Architecture } from './types';

/**
 * simple_CNN from the original (oarriaga/face_classification, Keras): four blocks of
 * [conv → BN → conv → BN → ReLU → 2×2 average pool → dropout 0.5], then conv 256 → BN →
 * conv(num_classes) → global average pool → softmax.
 */
export const simpleCnn: Architecture = {
  name: 'simple_cnn',
  origin: 'simple_CNN, oarriaga/face_classification (Keras)',
  minSize: 1,
  build(tf, { inputShape, numClasses, seed }) {
    const seeds = new Seeds(seed);
    const input = tf.input({ shape: inputShape, name: 'image' });
    let x = input;
    const blocks: Array<[number, number]> = [
      [16, 7],
      [32, 5],
      [64, 3],
      [128, 3],
    ];
    blocks.forEach(([f, k], i) => {
      const p = `block${i + 1}`;
      x = conv(tf, seeds, x, { filters: f, kernel: k, name: `${p}_conv1` });
      x = bn(tf, x, `${p}_bn1`);
      x = conv(tf, seeds, x, { filters: f, kernel: k, name: `${p}_conv2` });
      x = bn(tf, x, `${p}_bn2`);
      x = relu(tf, x, `${p}_relu`);
      x = tf.layers.averagePooling2d({ poolSize: 2, padding: 'same', name: `${p}_pool` }).apply(x) as typeof x;
      x = dropout(tf, seeds, x, 0.5, `${p}_dropout`);
    });
    x = conv(tf, seeds, x, { filters: 256, kernel: 3, name: 'block5_conv' });
    x = bn(tf, x, 'block5_bn');
    return tf.model({ inputs: input, outputs: convHead(tf, seeds, x, numClasses), name: 'simple_cnn' });
  },
};
