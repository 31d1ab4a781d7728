import { tf } from './tf';

import { AdamWOptimizer } from './adamw';
import { ADAMW_WEIGHT_DECAY, type OptimizerName } from './optimizer-names';

export { OPTIMIZERS, type OptimizerName } from './optimizer-names';

/**
 * Changes an optimizer's learning rate between steps (reduce-on-plateau). SGD and momentum keep
 * it as a tensor that their own setter replaces; the others read the field on every step.
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const o = optimizer as tf.Optimizer & { learningRate: number; setLearningRate?: (lr: number) => void };
  if (o.setLearningRate) o.setLearningRate(lr);
  else o.learningRate = lr;
}

/**
 * The original's optimizer names; momentum is SGD with Keras' usual 0.9. `weightDecay` is
 * AdamW's (the others have none).
 */
export function makeOptimizer(name: OptimizerName, lr: number, weightDecay = ADAMW_WEIGHT_DECAY): tf.Optimizer {
  switch (name) {
    case 'sgd':
      return tf.train.sgd(lr);
    case 'momentum':
      return tf.train.momentum(lr, 0.9);
    case 'rmsprop':
      return tf.train.rmsprop(lr);
    case 'adagrad':
      return tf.train.adagrad(lr);
    case 'adadelta':
      return tf.train.adadelta(lr);
    case 'adam':
      return tf.train.adam(lr);
    case 'adamax':
      return tf.train.adamax(lr);
    case 'adamw':
      return new AdamWOptimizer(lr, weightDecay);
  }
}
