import { selectBackend } from '../../src/ml/backend';
import { makeOptimizer } from '../../src/ml/optimizers';
import { tf } from '../../src/ml/tf';

/**
 * AdamW on tfjs (which has none of its own) held to torch.optim.AdamW (lr 0.01, weight_decay 0.1,
 * ε 1e-7 as tfjs' float32 backends take it): three steps from the same weights and gradients, the
 * weights printed once by src/bench/recipe-reference.py (PyTorch 1.13) and kept here. The
 * onnxruntime rule is held to this tfjs optimizer in onnx-training.test.ts, as every optimizer is.
 */
const INITIAL = [0.5, -1.0, 2.0, 0.0];
const GRADS = [
  [0.1, -0.2, 0.3, 0.0],
  [0.05, 0.4, -0.1, 1.0],
  [-0.3, 0.1, 0.2, -0.5],
];
const TORCH_WEIGHTS = [
  [0.4895000159740448, -0.9890000224113464, 1.9880000352859497, 0.0],
  [0.47968873381614685, -0.9916720986366272, 1.9820098876953125, -0.00744136655703187],
  [0.4826813042163849, -0.9948369860649109, 1.9739969968795776, -0.009720328263938427],
];

beforeAll(async () => {
  expect((await selectBackend('cpu')).name).toBe('cpu');
});

test('three steps move the weights as torch.optim.AdamW does', () => {
  const w = tf.variable(tf.tensor1d(INITIAL), true, 'adamw_test_w');
  const optimizer = makeOptimizer('adamw', 0.01, 0.1);
  try {
    GRADS.forEach((g, step) => {
      optimizer.applyGradients({ [w.name]: tf.tensor1d(g) });
      const got = w.dataSync();
      TORCH_WEIGHTS[step].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));
    });
  } finally {
    optimizer.dispose();
    w.dispose();
  }
});

test('without decay it is Adam, step for step', () => {
  const a = tf.variable(tf.tensor1d(INITIAL), true, 'adamw_test_a');
  const b = tf.variable(tf.tensor1d(INITIAL), true, 'adamw_test_b');
  const adamw = makeOptimizer('adamw', 0.01, 0);
  const adam = makeOptimizer('adam', 0.01);
  try {
    for (const g of GRADS) {
      adamw.applyGradients({ [a.name]: tf.tensor1d(g) });
      adam.applyGradients({ [b.name]: tf.tensor1d(g) });
    }
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
  } finally {
    adamw.dispose();
    adam.dispose();
    tf.dispose([a, b]);
  }
});
