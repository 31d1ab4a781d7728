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
 * Sets the momentum of an optimizer's next step, as torch's OneCycleLR sets group['momentum'] or
 * betas[0]: momentum's coefficient, or Adam's, AdamW's and Adamax' β₁ — with the bias correction
 * torch takes then, 1 − β₁^step of the step's β₁ (adam.py), where tfjs would multiply the β₁s so
 * far. The others have no momentum: unchanged. The onnxruntime rules' `cycled` twins
 * (onnx/optimizer-rules.ts) compute the same float32 numbers.
 */
export function setMomentum(optimizer: tf.Optimizer, momentum: number): void {
  // By class name: tfjs' optimizers answer instanceof by their methods, so any is a MomentumOptimizer.
  const kind = optimizer.getClassName();
  if (kind === 'Momentum') {
    // tfjs' own setMomentum changes the field, not the scalar tensor its step multiplies by.
    const o = optimizer as unknown as { momentum: number; m: tf.Scalar };
    o.m.dispose();
    o.momentum = momentum;
    o.m = tf.keep(tf.scalar(momentum));
  } else if (kind === 'Adam' || kind === 'AdamW' || kind === 'Adamax') {
    const o = optimizer as unknown as { beta1: number; accBeta1: tf.Variable };
    o.beta1 = momentum;
    const step = optimizer.iterations + 1;
    tf.tidy(() => o.accBeta1.assign(tf.scalar(momentum ** step)));
  }
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
