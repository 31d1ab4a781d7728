import type { ImageShape } from '../image-shape';
import { UsageError } from '../errors';

/** Pixels column is a MEDIUMBLOB: one image at the dataset's shape must fit in 16 MiB. */
const MAX_PIXEL_BYTES = 16 * 1024 * 1024 - 1;

/** `--size 20` (square) or `--size 28x32` (height×width). */
export function parseSize(text: string | undefined): { height: number; width: number } | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)(?:[xX×](\d+))?$/.exec(text.trim());
  const h = m ? Number(m[1]) : NaN;
  const w = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || h < 1 || w < 1 || h > 4096 || w > 4096) {
    throw new UsageError(
      `invalid --size "${text}"`,
      'use N for N×N or HxW, e.g. --size 28 or --size 32x32 (1 to 4096)',
    );
  }
  return { height: h, width: w };
}

export function parseChannels(text: string | undefined): 1 | 3 | undefined {
  if (text === undefined) return undefined;
  if (text === '1' || text === '3') return Number(text) as 1 | 3;
  throw new UsageError(`invalid --channels "${text}"`, 'use 1 (grayscale) or 3 (RGB)');
}

export function parseShape(size?: string, channels?: string): Partial<ImageShape> | undefined {
  const s = parseSize(size);
  const c = parseChannels(channels);
  if (!s && !c) return undefined;
  const shape = { ...s, ...(c && { channels: c }) };
  if (s && s.height * s.width * (c ?? 3) > MAX_PIXEL_BYTES) {
    throw new UsageError(
      `--size ${size} is too large to store decoded`,
      'use a smaller size (at most 16 MiB per image)',
    );
  }
  return shape;
}

export function parseFraction(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0 || v >= 1) {
    throw new UsageError(`invalid ${flag} "${text}"`, 'use a number at least 0 and below 1, e.g. 0.1');
  }
  return v;
}

export function parsePositiveInt(
  flag: string,
  text: string | undefined,
  { min = 1, max = Number.MAX_SAFE_INTEGER } = {},
): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || v < min || v > max) {
    throw new UsageError(
      `invalid ${flag} "${text}"`,
      `use a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`,
    );
  }
  return v;
}

export function parseNumber(
  flag: string,
  text: string | undefined,
  { min = -Infinity, max = Infinity } = {},
): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < min || v > max) {
    throw new UsageError(
      `invalid ${flag} "${text}"`,
      `use a number${Number.isFinite(min) ? ` ≥ ${min}` : ''}${Number.isFinite(max) ? ` and ≤ ${max}` : ''}`,
    );
  }
  return v;
}

/** `500ms`, `2s`, `1.5s` or a bare number of milliseconds, within [min, max] ms. */
export function parseDurationMs(
  flag: string,
  text: string | undefined,
  { min = 0, max = 3_600_000 } = {},
): number | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$/.exec(text);
  const ms = m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : NaN;
  if (!Number.isFinite(ms) || ms < min || ms > max) {
    throw new UsageError(
      `invalid ${flag} "${text}"`,
      `use a duration from ${min}ms to ${max / 1000}s, e.g. 500ms or 2s`,
    );
  }
  return Math.round(ms);
}

export function parseRunId(text: string): number {
  const id = parsePositiveInt('run id', text, { min: 1 });
  if (id === undefined) throw new UsageError('a run id is required', 'list runs with `mldb runs`');
  return id;
}
