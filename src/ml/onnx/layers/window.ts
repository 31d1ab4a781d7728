import { ints, type Attribute, type GraphBuilder } from '../graph';

/**
 * Where a convolution or pooling window goes: TensorFlow's "same" padding (the odd pixel at the
 * end, as SAME_UPPER) or "valid", written as explicit pads so that the forward node and its
 * gradients (transposed convolutions, scatters) agree on every border.
 */
export interface Window {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
  input: [number, number];
  output: [number, number];
}

export function pair(v: unknown, fallback = 1): [number, number] {
  if (v === undefined || v === null) return [fallback, fallback];
  return Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [Number(v), Number(v)];
}

export function windowOf(
  config: Record<string, unknown>,
  input: [number, number],
  kernel: [number, number],
  strides: [number, number],
): Window {
  const dilations = pair(config.dilationRate);
  const same = config.padding === 'same';
  const pads: [number, number, number, number] = [0, 0, 0, 0];
  const output: [number, number] = [0, 0];
  for (const a of [0, 1]) {
    const extent = (kernel[a] - 1) * dilations[a] + 1;
    if (same) {
      output[a] = Math.ceil(input[a] / strides[a]);
      const total = Math.max((output[a] - 1) * strides[a] + extent - input[a], 0);
      pads[a] = Math.floor(total / 2);
      pads[a + 2] = total - pads[a];
    } else {
      output[a] = Math.floor((input[a] - extent) / strides[a]) + 1;
    }
  }
  return { kernel, strides, dilations, pads, input, output };
}

export function windowAttributes(w: Window): Attribute[] {
  return [
    ints('kernel_shape', w.kernel),
    ints('strides', w.strides),
    ints('dilations', w.dilations),
    ints('pads', w.pads),
  ];
}

/**
 * output_padding of the transposed convolution that maps the window's output back onto its
 * input: the rows and columns the forward pass left unread at the end.
 */
export function outputPadding(w: Window): [number, number] {
  return [0, 1].map(
    (a) =>
      w.input[a] -
      ((w.output[a] - 1) * w.strides[a] + (w.kernel[a] - 1) * w.dilations[a] + 1 - w.pads[a] - w.pads[a + 2]),
  ) as [number, number];
}

/** `kernel` reversed along its spatial axes 2 and 3 (a convolution's kernel, turned half a turn). */
export function flipSpatial(g: GraphBuilder, kernel: string, [kh, kw]: [number, number]): string {
  return g.node('Slice', [
    kernel,
    g.int64s([-1, -1]),
    g.int64s([-kh - 1, -kw - 1]),
    g.int64s([2, 3]),
    g.int64s([-1, -1]),
  ]);
}
