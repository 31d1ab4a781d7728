import { classMetrics, macroAverage } from '../../src/ml/metrics';
import { topK } from '../../src/ml/predict';
import { parseBytes } from '../../src/samples/memory-budget';

describe('classMetrics', () => {
  test('precision, recall and F1 from a confusion matrix (rows true, columns predicted)', () => {
    // 10 cats: 8 right, 2 called dogs. 5 dogs: 4 right, 1 called a cat. No bird was seen or predicted.
    const m = classMetrics(
      [
        [8, 2, 0],
        [1, 4, 0],
        [0, 0, 0],
      ],
      ['cat', 'dog', 'bird'],
    );
    expect(m[0]).toEqual({
      label: 'cat',
      support: 10,
      precision: 8 / 9,
      recall: 0.8,
      f1: expect.closeTo((2 * (8 / 9) * 0.8) / (8 / 9 + 0.8), 12),
    });
    expect(m[1]).toMatchObject({ support: 5, precision: 4 / 6, recall: 0.8 });
    expect(m[2]).toEqual({ label: 'bird', support: 0, precision: 0, recall: 0, f1: 0 });
    // Classes that never occur do not drag the macro average down.
    expect(macroAverage(m).recall).toBeCloseTo(0.8, 12);
  });
});

describe('topK', () => {
  test('most probable first, k clamped to the number of labels', () => {
    expect(topK([0.1, 0.7, 0.2], ['a', 'b', 'c'], 2)).toEqual([
      { label: 'b', probability: 0.7 },
      { label: 'c', probability: 0.2 },
    ]);
    expect(topK([0.1, 0.7, 0.2], ['a', 'b', 'c'], 10)).toHaveLength(3);
  });
});

describe('parseBytes', () => {
  test.each([
    ['512M', 512 * 1024 ** 2],
    ['2G', 2 * 1024 ** 3],
    ['1.5k', 1536],
    ['65536', 65536],
    ['64 MB', 64 * 1024 ** 2],
  ])('%s', (text, bytes) => {
    expect(parseBytes('--memory-budget', text)).toBe(bytes);
  });
  test.each(['', '0', '-1M', 'lots', '12Q'])('rejects %j with the expected form', (text) => {
    expect(() => parseBytes('--memory-budget', text)).toThrow(/invalid --memory-budget/);
  });
});
