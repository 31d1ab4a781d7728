/** What --augment draws from (without TensorFlow.js: the CLI validates flags before loading it). */
export interface Augmentation {
  /** Degrees: a rotation in [-rotation, rotation]. */
  rotation: number;
  /** Fractions of the width / height: a shift in [-f, f] of it. */
  widthShift: number;
  heightShift: number;
  /** A scale in [1 - zoom, 1 + zoom], drawn for each axis (as Keras). */
  zoom: number;
  /** Mirror left-right half of the time (off for digits and text, which it would corrupt). */
  flip: boolean;
}

/** The original's ImageDataGenerator settings, flip left to the user. */
export const ORIGINAL_AUGMENTATION: Augmentation = {
  rotation: 10,
  widthShift: 0.1,
  heightShift: 0.1,
  zoom: 0.1,
  flip: false,
};
