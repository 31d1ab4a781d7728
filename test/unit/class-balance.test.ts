import { balancedOrder } from '../../src/ml/balanced-sampler';
import { classWeights, imbalanceRatio } from '../../src/ml/class-weights';
import { mulberry32 } from '../../src/ml/seeded';

/** Class weights as sklearn's compute_class_weight('balanced') gives them, and the balanced sampler's batches. */

test("balanced weights are n/(k·count), as sklearn's; a file's weights by label, the rest 1", () => {
  // sklearn's formula, n_samples / (n_classes · bincount(y)): 96/180, 96/90, 96/18.
  const w = classWeights('balanced', ['a', 'b', 'c'], [60, 30, 6])!;
  expect(Array.from(w).map((x) => x.toFixed(4))).toEqual(['0.5333', '1.0667', '5.3333']);
  expect(Array.from(classWeights({ c: 4 }, ['a', 'b', 'c'], [60, 30, 6])!)).toEqual([1, 1, 4]);
  expect(classWeights('none', ['a', 'b'], [1, 1])).toBeNull();
  expect(() => classWeights({ d: 2 }, ['a', 'b'], [1, 1])).toThrow(/classWeight names label "d"/);
  expect(imbalanceRatio([60, 30, 6])).toBe(10);
});

test('the balanced sampler: every k rows hold each label once; the rare label recurs; same epoch length', () => {
  // 90 rows of label 0, 10 of label 1: positions 0–89 and 90–99.
  const positions = Uint32Array.from({ length: 100 }, (_, i) => i);
  const classOf = (p: number) => (p < 90 ? 0 : 1);
  const order = balancedOrder(positions, classOf, mulberry32(1));
  expect(order).toHaveLength(100);
  for (let i = 0; i < 100; i += 2) expect(new Set([classOf(order[i]), classOf(order[i + 1])]).size).toBe(2);
  const rare = Array.from(order).filter((p) => p >= 90);
  expect(rare).toHaveLength(50);
  expect(new Set(rare).size).toBe(10); // each rare row five times
  expect(Array.from(balancedOrder(positions, classOf, mulberry32(1)))).toEqual(Array.from(order)); // seeded
});
