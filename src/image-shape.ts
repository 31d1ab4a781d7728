/** The shape every image of a dataset is stored at: height × width × channels, uint8. */
export interface ImageShape {
  height: number;
  width: number;
  channels: 1 | 3;
}

/** Bytes of one stored image (uint8 H×W×C); also the number of floats in its tensor. */
export function valuesPerImage(shape: ImageShape): number {
  return shape.height * shape.width * shape.channels;
}
