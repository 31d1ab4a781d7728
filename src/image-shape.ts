/**
 * How an image of another aspect ratio takes a table's shape: `stretch` scales each axis to fit
 * (the original's behaviour, the default); `crop` keeps the largest centred region of the table's
 * aspect ratio; `pad` fits the whole image inside and fills the bars with black (0).
 */
export const RESIZE_MODES = ['stretch', 'crop', 'pad'] as const;
export type ResizeMode = (typeof RESIZE_MODES)[number];

/** Each mode as sharp's `fit` (what models record in their preprocessing): fill, cover, contain. */
export const SHARP_FIT = { stretch: 'fill', crop: 'cover', pad: 'contain' } as const satisfies Record<
  ResizeMode,
  string
>;
export type SharpFit = (typeof SHARP_FIT)[ResizeMode];

/** The fill of `pad`'s bars, in every channel. */
export const PAD_FILL = 0;

/** The shape every image of a dataset is stored at: height × width × channels, uint8. */
export interface ImageShape {
  height: number;
  width: number;
  channels: 1 | 3;
  /** How images of another size take it; absent: stretch. */
  resize?: ResizeMode;
}

/** The mode a sharp fit stands for (a model's recorded preprocessing → the mode its inputs take). */
export function resizeModeOfFit(fit: string): ResizeMode {
  const mode = RESIZE_MODES.find((m) => SHARP_FIT[m] === fit);
  if (!mode) throw new Error(`unknown resize fit "${fit}"`);
  return mode;
}

/** Bytes of one stored image (uint8 H×W×C); also the number of floats in its tensor. */
export function valuesPerImage(shape: ImageShape): number {
  return shape.height * shape.width * shape.channels;
}
