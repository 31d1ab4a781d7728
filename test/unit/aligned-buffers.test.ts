import { alignedFloat32Arrays } from '../../src/ml/engines/aligned-buffers';

test('each array starts on a 64-byte line of one page-aligned memory, apart from the others', () => {
  const lengths = [1, 16, 17, 3000, 5];
  const arrays = alignedFloat32Arrays(lengths);
  expect(arrays.map((a) => a.length)).toEqual(lengths);
  // A WebAssembly memory's data starts on a page, so offsets that are multiples of 64 are aligned addresses.
  expect(new Set(arrays.map((a) => a.buffer)).size).toBe(1);
  for (const a of arrays) expect(a.byteOffset % 64).toBe(0);
  arrays.forEach((a, k) => a.fill(k + 1));
  arrays.forEach((a, k) => expect(a.every((v) => v === k + 1)).toBe(true));
});
