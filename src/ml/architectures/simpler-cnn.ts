import { bn, conv, dropout, relu } from './layers';
import { Seeds, type Architecture } from './types';

/**
 * simpler_CNN from the original (oarriaga/face_classification, Keras): conv pairs whose second
 * conv has stride 2, with BN, ReLU and dropout 0.25; then 1×1/3×3-stride-2 pairs down to
 * num_classes, flattened into a softmax. No dense layer.
 */
export const simplerCnn: Architecture = {
  name: 'simpler_cnn',
  origin: 'simpler_CNN, oarriaga/face_classification (Keras)',
  minSize: 1,
  build(tf, { inputShape, numClasses, seed }) {
    const seeds = new Seeds(seed);
    const input = tf.input({ shape: inputShape, name: 'image' });
    let x = input;
    const pairs: Array<[number, number]> = [
      [16, 5],
      [32, 5],
      [64, 3],
    ];
    pairs.forEach(([f, k], i) => {
      const p = `block${i + 1}`;
      x = conv(tf, seeds, x, { filters: f, kernel: k, name: `${p}_conv1` });
      x = bn(tf, x, `${p}_bn1`);
      x = conv(tf, seeds, x, { filters: f, kernel: k, strides: 2, name: `${p}_conv2` });
      x = bn(tf, x, `${p}_bn2`);
      x = relu(tf, x, `${p}_relu`);
      x = dropout(tf, seeds, x, 0.25, `${p}_dropout`);
    });
    const tail: Array<[number, number]> = [
      [64, 128],
      [256, 128],
      [256, numClasses],
    ];
    tail.forEach(([squeeze, out], i) => {
      const p = `block${i + 4}`;
      x = conv(tf, seeds, x, { filters: squeeze, kernel: 1, name: `${p}_conv1` });
      x = bn(tf, x, `${p}_bn`);
      x = conv(tf, seeds, x, { filters: out, kernel: 3, strides: 2, name: `${p}_conv2` });
    });
    // The original flattens a 1×1×num_classes map; at inputs large enough to leave more than
    // 1×1, average the map instead so the softmax still sees num_classes values.
    const [, h, w] = x.shape as number[];
    x = (
      h === 1 && w === 1 ? tf.layers.flatten({ name: 'flatten' }) : tf.layers.globalAveragePooling2d({ name: 'pool' })
    ).apply(x) as typeof x;
    const out = tf.layers.activation({ activation: 'softmax', name: 'predictions' }).apply(x) as typeof x;
    return tf.model({ inputs: input, outputs: out, name: 'simpler_cnn' });
  },
};
