import type { Split } from '../db/schema';

/**
 * The split of an image is a function of its content hash alone, so re-importing (from any path,
 * in any order) never moves an image between train and test. The first 32 bits of the SHA-256
 * are uniform, which gives the requested fractions in expectation.
 */
export function splitFor(sha256: Uint8Array, testFraction: number, validationFraction: number): Split {
  const u = (((sha256[0] << 24) >>> 0) + (sha256[1] << 16) + (sha256[2] << 8) + sha256[3]) / 2 ** 32;
  if (u < testFraction) return 'test';
  if (u < testFraction + validationFraction) return 'validation';
  return 'train';
}
