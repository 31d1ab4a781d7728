import { layoutOf } from '../../src/ml/onnx/weight-layout';

/** `values` of shape `dims` transposed by `perm` (ONNX Transpose), as plain loops. */
function transpose(values: Float32Array, dims: number[], perm: number[]): Float32Array {
  const out = new Float32Array(values.length);
  const strides = dims.map((_, a) => dims.slice(a + 1).reduce((x, y) => x * y, 1));
  const outDims = perm.map((p) => dims[p]);
  const index = new Array<number>(dims.length).fill(0);
  for (let k = 0; k < values.length; k++) {
    let rest = k;
    for (let a = outDims.length - 1; a >= 0; a--) {
      index[a] = rest % outDims[a];
      rest = Math.floor(rest / outDims[a]);
    }
    out[k] = values[perm.reduce((at, p, a) => at + index[a] * strides[p], 0)];
  }
  return out;
}

describe('a convolution kernel held for the NCHWc kernels', () => {
  const [kh, kw, cin, cout] = [3, 2, 32, 16];
  const tfShape = [kh, kw, cin, cout];
  const values = Float32Array.from({ length: kh * kw * cin * cout }, (_, k) => k);

  // Blocks of 16 channels on AVX-512, 8 on AVX2 (engines/nchwc-probe.ts).
  test.each([16, 8])(
    'is the [O, I, kh, kw] kernel reordered as the graph reorders one (OIHWBiBo, blocks of %i), and back',
    (block) => {
      const blocked = layoutOf('Conv2D', 'kernel', tfShape, block);
      expect(blocked.block).toBe(block);
      const plain = layoutOf('Conv2D', 'kernel', tfShape, 0).toOnnx(values, tfShape);
      const reordered = transpose(plain, [cout / block, block, cin / block, block, kh, kw], [0, 2, 4, 5, 3, 1]);
      const held = blocked.toOnnx(values, tfShape);
      expect(held).toEqual(reordered);
      expect(blocked.fromOnnx(held, tfShape)).toEqual(values);
    },
  );

  test('only for kernels of whole blocks, larger than 1×1, in graphs with blocked convolutions', () => {
    expect(layoutOf('Conv2D', 'kernel', [3, 3, 8, 16], 16).block).toBeUndefined();
    expect(layoutOf('Conv2D', 'kernel', [3, 3, 16, 10], 16).block).toBeUndefined();
    expect(layoutOf('Conv2D', 'kernel', [1, 1, 16, 16], 16).block).toBeUndefined();
    expect(layoutOf('Conv2D', 'kernel', [3, 3, 16, 16], 0).block).toBeUndefined();
    expect(layoutOf('SeparableConv2D', 'pointwise_kernel', [1, 1, 16, 16], 16).block).toBeUndefined();
  });
});
