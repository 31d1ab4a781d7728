import type { tf as TF } from '../tf';

type Tf = typeof TF;

/** The options every builder takes (the keras.applications convention). */
export interface BuildOptions {
  /** [height, width, channels] */
  inputShape: [number, number, number];
  numClasses: number;
  /** Seeds every initializer and dropout layer: same seed, same initial model. */
  seed?: number;
}

export interface Architecture {
  name: string;
  /** Where it comes from, for `mldb models`. */
  origin: string;
  /**
   * The smallest image height and width it trains on, on every engine: below it a pooling or a
   * flatten has no pixel left (checked by test/unit/architecture-sizes.test.ts, both ways).
   */
  minSize: number;
  /** Builds an uncompiled model. Nothing is built at import time. */
  build(tf: Tf, options: BuildOptions): TF.LayersModel;
}

/** Hands out a fresh seed per layer so that layers do not share random streams. */
export class Seeds {
  private next: number;
  constructor(seed = 1) {
    this.next = seed * 1000;
  }
  take(): number {
    return this.next++;
  }
}
