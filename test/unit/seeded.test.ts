import { mulberry32, Mulberry32Stream } from '../../src/ml/seeded';

describe('Mulberry32Stream', () => {
  test.each([0.5, 0.25, 0.3, 0.1])('decides as mulberry32() < p does, call after call (p %s)', (p) => {
    const random = mulberry32(42);
    const stream = new Mulberry32Stream(42);
    for (const length of [1, 1000, 37]) {
      const got = new Float32Array(length);
      stream.fillThreshold(got, p, 0, 2);
      const want = Float32Array.from({ length }, () => (random() < p ? 0 : 2));
      expect(got).toEqual(want);
    }
  });
});
