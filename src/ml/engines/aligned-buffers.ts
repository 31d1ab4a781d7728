/**
 * Float32Arrays whose data starts on a 64-byte boundary, for the tensors an onnxruntime engine
 * keeps from step to step. onnxruntime reads a tensor fed from JavaScript where it lies, and a
 * large ArrayBuffer's data lies 16 bytes past a 64-byte boundary (glibc's allocation header), so
 * every AVX-512 load from it straddles two cache lines: an NCHWc convolution reading its kernel
 * from such a buffer took 1.6 times as long as from an aligned one (simple_cnn's block5_conv at
 * 20×20, 0.79 against 0.46 ms). JavaScript cannot ask for alignment or see an address, but a
 * WebAssembly memory starts on a page of its own: the arrays are views into one, each starting on a
 * whole number of 64-byte lines. It never grows (growing would detach the views), so it is sized
 * once for every array.
 */

/** Floats in a 64-byte line. */
const LINE_FLOATS = 16;
const PAGE_BYTES = 65536;
/** Past this, plain arrays: a WebAssembly memory holds at most 4 GiB, and such a model is not this engine's. */
const MAX_BYTES = 2 ** 31;

/** The part of Node's WebAssembly global used here (this project's TypeScript libraries do not declare it). */
const { Memory } = (
  globalThis as unknown as { WebAssembly: { Memory: new (pages: { initial: number }) => { buffer: ArrayBuffer } } }
).WebAssembly;

export function alignedFloat32Arrays(lengths: number[]): Float32Array[] {
  const offsets: number[] = [];
  let total = 0;
  for (const n of lengths) {
    offsets.push(total);
    total += Math.ceil(n / LINE_FLOATS) * LINE_FLOATS;
  }
  const bytes = total * 4;
  const plain = () => lengths.map((n) => new Float32Array(n));
  if (bytes > MAX_BYTES) return plain();
  let memory: { buffer: ArrayBuffer };
  try {
    memory = new Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE_BYTES)) });
  } catch (e) {
    // Each memory reserves address space of its own; where the process has run out of it, the
    // arrays are plain (slower, not wrong).
    if (e instanceof RangeError) return plain();
    throw e;
  }
  return lengths.map((n, i) => new Float32Array(memory.buffer, offsets[i] * 4, n));
}
