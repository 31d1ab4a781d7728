import crypto from 'node:crypto';
import { splitFor } from '../../src/ingest/splits';

describe('splitFor', () => {
  const hashes = Array.from({ length: 20000 }, (_, i) => crypto.createHash('sha256').update(`image-${i}`).digest());

  test('is a function of the hash alone', () => {
    for (const h of hashes.slice(0, 100)) expect(splitFor(h, 0.1, 0.1)).toBe(splitFor(Buffer.from(h), 0.1, 0.1));
  });

  test('gives the requested fractions', () => {
    const counts = { train: 0, validation: 0, test: 0 };
    for (const h of hashes) counts[splitFor(h, 0.1, 0.2)]++;
    expect(counts.test / hashes.length).toBeCloseTo(0.1, 1);
    expect(counts.validation / hashes.length).toBeCloseTo(0.2, 1);
  });

  test('fraction 0 puts nothing in test', () => {
    expect(hashes.every((h) => splitFor(h, 0, 0) === 'train')).toBe(true);
  });
});
