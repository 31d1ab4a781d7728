import { ARCHITECTURES } from '../../src/ml/architectures/registry';
import { forwardFlops } from '../../src/ml/flops';
import { tf } from '../../src/ml/tf';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('forward FLOPs of LeNet-5 at 28×28, counted by hand', () => {
  const model = ARCHITECTURES.get('lenet5')!.build(tf, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const c1 = 2 * 5 * 5 * 1 * (28 * 28 * 6); // same padding
  const s2 = 2 * 2 * (14 * 14 * 6);
  const c3 = 2 * 5 * 5 * 6 * (10 * 10 * 16); // valid
  const s4 = 2 * 2 * (5 * 5 * 16);
  const dense = 2 * (400 * 120 + 120 * 84 + 84 * 10);
  expect(forwardFlops(model)).toBe(c1 + s2 + c3 + s4 + dense);
  model.dispose();
});

test('every architecture has a count, and a bigger input costs more', () => {
  for (const a of ARCHITECTURES.values()) {
    const small = a.build(tf, { inputShape: [20, 20, 1], numClasses: 10, seed: 1 });
    const large = a.build(tf, { inputShape: [32, 32, 1], numClasses: 10, seed: 1 });
    expect(forwardFlops(small)).toBeGreaterThan(100_000);
    expect(forwardFlops(large)).toBeGreaterThan(forwardFlops(small));
    small.dispose();
    large.dispose();
  }
});
