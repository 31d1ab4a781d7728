import type { tf as TF } from '../tf';
import { bn, conv, relu } from './layers';
import { Seeds, type Architecture } from './types';

type Sym = TF.SymbolicTensor;

/**
 * A small ResNet for small images (He et al., 2016, CIFAR variant): conv 16 → three stages of
 * one basic block each (16, 32/2, 64/2 filters; a 1×1 projection shortcut where the shape
 * changes) → global average pool → softmax. ResNet-8 in the CIFAR naming.
 */
export const resnetSmall: Architecture = {
  name: 'resnet_small',
  origin: 'ResNet-8 (CIFAR-style), He et al. 2016',
  minSize: 1,
  build(tf, { inputShape, numClasses, seed }) {
    const seeds = new Seeds(seed);
    const input = tf.input({ shape: inputShape, name: 'image' });
    let x: Sym = relu(
      tf,
      bn(tf, conv(tf, seeds, input, { filters: 16, kernel: 3, useBias: false, name: 'stem_conv' }), 'stem_bn'),
      'stem_relu',
    );
    const stages: Array<[number, number]> = [
      [16, 1],
      [32, 2],
      [64, 2],
    ];
    stages.forEach(([f, s], i) => {
      const p = `stage${i + 1}`;
      let y = conv(tf, seeds, x, { filters: f, kernel: 3, strides: s, useBias: false, name: `${p}_conv1` });
      y = relu(tf, bn(tf, y, `${p}_bn1`), `${p}_relu1`);
      y = bn(tf, conv(tf, seeds, y, { filters: f, kernel: 3, useBias: false, name: `${p}_conv2` }), `${p}_bn2`);
      const shortcut =
        s === 1 && (x.shape[3] as number) === f
          ? x
          : bn(
              tf,
              conv(tf, seeds, x, { filters: f, kernel: 1, strides: s, useBias: false, name: `${p}_proj` }),
              `${p}_proj_bn`,
            );
      x = relu(tf, tf.layers.add({ name: `${p}_add` }).apply([y, shortcut]) as Sym, `${p}_relu2`);
    });
    x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as Sym;
    const out = tf.layers
      .dense({
        units: numClasses,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seeds.take() }),
        name: 'predictions',
      })
      .apply(x) as Sym;
    return tf.model({ inputs: input, outputs: out, name: 'resnet_small' });
  },
};
