import { getKernel, type KernelBackend, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs';

/**
 * Calls another kernel of the same backend directly on TensorInfos, as tfjs's own composite
 * kernels do: no engine, no tracking, so each intermediate must be released with `release`.
 */
export class KernelOps {
  private readonly temps: TensorInfo[] = [];

  constructor(
    private readonly backend: KernelBackend,
    private readonly backendName: string,
  ) {}

  run(kernelName: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = getKernel(kernelName, this.backendName);
    if (!kernel) throw new Error(`${this.backendName} backend has no ${kernelName} kernel`);
    const out = kernel.kernelFunc({ inputs, attrs, backend: this.backend }) as TensorInfo;
    this.temps.push(out);
    return out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  pad(x: TensorInfo, paddings: Array<[number, number]>): TensorInfo {
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run('Slice', { x }, { begin, size });
  }

  reverse(x: TensorInfo, dims: number[]): TensorInfo {
    return this.run('Reverse', { x }, { dims });
  }

  sum(x: TensorInfo, axis: number[]): TensorInfo {
    return this.run('Sum', { x }, { axis, keepDims: false });
  }

  /**
   * Pads (or, for negative amounts, crops) the two spatial axes of an NHWC tensor, so that a
   * following 'valid' convolution produces exactly the wanted output size.
   */
  padOrCrop(x: TensorInfo, top: number, bottom: number, left: number, right: number): TensorInfo {
    const [b, h, w, c] = x.shape;
    let out = x;
    if (top < 0 || bottom < 0 || left < 0 || right < 0) {
      const t = Math.max(0, -top);
      const l = Math.max(0, -left);
      out = this.slice(out, [0, t, l, 0], [b, h - t - Math.max(0, -bottom), w - l - Math.max(0, -right), c]);
    }
    if (top > 0 || bottom > 0 || left > 0 || right > 0) {
      out = this.pad(out, [
        [0, 0],
        [Math.max(0, top), Math.max(0, bottom)],
        [Math.max(0, left), Math.max(0, right)],
        [0, 0],
      ]);
    }
    return out;
  }

  /** Inserts (stride − 1) zeros between rows and columns of NHWC `x`: the adjoint of a strided conv. */
  dilate(x: TensorInfo, sh: number, sw: number): TensorInfo {
    if (sh === 1 && sw === 1) return x;
    const [b, h, w, c] = x.shape;
    let out = this.reshape(x, [b * h, w, 1, c]);
    out = this.pad(out, [
      [0, 0],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]);
    out = this.reshape(out, [b, h, 1, w * sw * c]);
    out = this.pad(out, [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
    ]);
    out = this.reshape(out, [b, h * sh, w * sw, c]);
    return this.slice(out, [0, 0, 0, 0], [b, (h - 1) * sh + 1, (w - 1) * sw + 1, c]);
  }

  /** Releases every intermediate except `keep` (the kernel's output). */
  release(keep: TensorInfo): TensorInfo {
    for (const t of this.temps) if (t !== keep) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
    return keep;
  }
}
