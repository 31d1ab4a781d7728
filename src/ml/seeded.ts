/** A small seeded PRNG (mulberry32): tfjs's own shuffles use Math.random, which cannot be seeded. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * mulberry32's stream for loops that draw hundreds of thousands of values a step (dropout masks):
 * the same draws as mulberry32(seed), compared as integers, without a call and a division per value
 * (the loop is mulberry32's own, inlined).
 */
export class Mulberry32Stream {
  #a: number;

  constructor(seed: number) {
    this.#a = seed >>> 0;
  }

  /** out[i] = `below` where the i-th next draw of mulberry32 is < p, else `above`. */
  fillThreshold(out: Float32Array, p: number, below: number, above: number): void {
    // u / 2³² < p ⇔ u < p · 2³²: exact in doubles for every 32-bit u.
    const limit = p * 4294967296;
    // The value is picked by index, not by a branch: a draw against p = 0.5 is a coin the CPU
    // cannot predict, and the branch's mispredictions took half the loop's time (simple_cnn's
    // masks for a step at 20×20: 2.2 → 1.0 ms). The state is kept in int32 (same bits).
    const values = Float32Array.of(below, above);
    let a = this.#a | 0;
    for (let i = 0; i < out.length; i++) {
      a = (a + 0x6d2b79f5) | 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = values[+((t ^ (t >>> 14)) >>> 0 >= limit)];
    }
    this.#a = a >>> 0;
  }
}

/** Fisher–Yates over 0..n-1 with a seeded generator. */
export function seededPermutation(n: number, random: () => number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
