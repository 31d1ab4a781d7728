import type { Dataset } from '../../db/registry';
import { PAD_FILL, type ResizeMode } from '../../image-shape';

/** How a table's shape is written everywhere the CLI prints one. */

/** "28x28x1", or what is known so far: "shape from the first image (3 channels)". */
export function describeShape(d: Pick<Dataset, 'shape' | 'shapeParts'>): string {
  if (d.shape) return shapeText(d.shape);
  const { height, width, channels } = d.shapeParts;
  const known = [
    height && width ? `${height}x${width}` : '',
    channels ? `${channels} channel${channels === 1 ? '' : 's'}` : '',
  ].filter(Boolean);
  return `shape from the first image imported${known.length ? ` (${known.join(', ')} given)` : ''}`;
}

export function shapeText(s: { height: number; width: number; channels: number } | null): string {
  return s ? `${s.height}x${s.width}x${s.channels}` : '-';
}

/** How a table resizes images of another aspect ratio: "stretch", "crop (centred)", "pad (fill 0, black)". */
export function resizeText(mode: ResizeMode): string {
  if (mode === 'crop') return 'crop (centred)';
  if (mode === 'pad') return `pad (fill ${PAD_FILL}, black)`;
  return mode;
}
