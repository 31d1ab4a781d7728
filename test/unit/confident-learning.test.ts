import { classThresholds, labelIssues } from '../../src/ml/confident-learning';

/** Three classes; each row's probabilities, and its stored label. */
const probs = Float32Array.from([
  ...[0.9, 0.05, 0.05], // 0: labelled 0, right
  ...[0.7, 0.2, 0.1], //   1: labelled 0, right
  ...[0.1, 0.8, 0.1], //   2: labelled 1, right
  ...[0.85, 0.1, 0.05], // 3: labelled 1, but the model says 0 with 0's usual confidence
  ...[0.5, 0.45, 0.05], // 4: labelled 1, leans to 0 below 0's threshold: not a suspect
  ...[0.05, 0.05, 0.9], // 5: labelled 2, right
]);
const labels = [0, 0, 1, 1, 1, 2];

test('thresholds are the mean probability of each class over the rows labelled with it', () => {
  const t = classThresholds(probs, labels, 3);
  expect(t[0]).toBeCloseTo(0.8, 6);
  expect(t[1]).toBeCloseTo((0.8 + 0.1 + 0.45) / 3, 6);
  expect(t[2]).toBeCloseTo(0.9, 6);
  expect(classThresholds(probs, [0, 0, 0, 0, 0, 0], 3)[1]).toBe(Infinity);
});

test('a row is a suspect when another class reaches its threshold and is the likeliest such; by margin', () => {
  const issues = labelIssues(probs, labels, 3);
  expect(issues).toHaveLength(1);
  expect(issues[0]).toMatchObject({ position: 3, suggested: 0 });
  expect(issues[0].margin).toBeCloseTo(0.75, 6);
  // Row 2 stored as 2 as well: two suspects, the one the model contradicts more first.
  const more = labelIssues(probs, [0, 0, 2, 1, 1, 2], 3);
  expect(more.map((i) => [i.position, i.suggested])).toEqual([
    [3, 0],
    [2, 1],
  ]);
});
