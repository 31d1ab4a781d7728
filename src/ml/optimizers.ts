import { tf } from './tf';

import type { OptimizerName } from './optimizer-names';

export { OPTIMIZERS, type OptimizerName } from './optimizer-names';

/** The original's optimizer names; momentum is SGD with Keras' usual 0.9. */
export function makeOptimizer(name: OptimizerName, lr: number): tf.Optimizer {
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
  }
}
