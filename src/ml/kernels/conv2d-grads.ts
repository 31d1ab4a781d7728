import {
  backend_util,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { KernelOps } from './kernel-ops';

/**
 * Convolution gradients as convolutions, so that they run on the backend's own fast conv2d
 * (XNNPACK on wasm) instead of naive loops:
 * - filter gradient: convolve the input, with batch and channels swapped, by the output
 *   gradient used as a filter dilated by the stride;
 * - input gradient: convolve the stride-dilated, padded output gradient by the rotated filter.
 */

type ConvAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: [number, number] | number;
};

function pair(v: [number, number] | number | undefined): [number, number] {
  if (v === undefined) return [1, 1];
  return typeof v === 'number' ? [v, v] : v;
}

function assertNhwc(attrs: ConvAttrs): void {
  if (attrs.dataFormat && attrs.dataFormat !== 'NHWC')
    throw new Error('only NHWC convolutions are supported on this backend');
}

function assertUndilated(attrs: ConvAttrs): void {
  const [dh, dw] = pair(attrs.dilations);
  if (dh !== 1 || dw !== 1) throw new Error('depthwise gradient with dilation > 1 is not supported');
}

/** dW for a regular conv: x [B,H,W,Ci], dy [B,oh,ow,Co] → [kh,kw,Ci,Co]. */
export function conv2dBackpropFilter(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
    assertNhwc(a);
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      a.filterShape,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const ops = new KernelOps(backend as KernelBackend, backendName);
    const [kh, kw] = [info.filterHeight, info.filterWidth];
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const needH = kh - 1 + (info.outHeight - 1) * sh + 1;
    const needW = kw - 1 + (info.outWidth - 1) * sw + 1;
    const xt = ops.transpose(x, [3, 1, 2, 0]); // [Ci, H, W, B]
    const padded = ops.padOrCrop(
      xt,
      info.padInfo.top,
      needH - info.inHeight - info.padInfo.top,
      info.padInfo.left,
      needW - info.inWidth - info.padInfo.left,
    );
    const filter = ops.transpose(dy, [1, 2, 0, 3]); // [oh, ow, B, Co]
    const conv = ops.run(
      'Conv2D',
      { x: padded, filter },
      { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [sh, sw] },
    );
    const dw = ops.transpose(conv, [1, 2, 0, 3]); // [Ci,kh,kw,Co] → [kh,kw,Ci,Co]
    return ops.release(dw);
  };
}

/** dx for a regular conv: dy [B,oh,ow,Co], filter [kh,kw,Ci,Co] → [B,H,W,Ci]. */
export function conv2dBackpropInput(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
    assertNhwc(a);
    const info = backend_util.computeConv2DInfo(
      a.inputShape,
      filter.shape as [number, number, number, number],
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const ops = new KernelOps(backend as KernelBackend, backendName);
    const dilated = ops.dilate(dy, info.strideHeight, info.strideWidth);
    const [lh, lw] = [dilated.shape[1], dilated.shape[2]];
    const top = info.filterHeight - 1 - info.padInfo.top;
    const left = info.filterWidth - 1 - info.padInfo.left;
    const padded = ops.padOrCrop(
      dilated,
      top,
      info.inHeight + info.filterHeight - 1 - lh - top,
      left,
      info.inWidth + info.filterWidth - 1 - lw - left,
    );
    const rotated = ops.transpose(ops.reverse(filter, [0, 1]), [0, 1, 3, 2]); // [kh,kw,Co,Ci]
    const dx = ops.run(
      'Conv2D',
      { x: padded, filter: rotated },
      { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] },
    );
    return ops.release(dx);
  };
}

/** dW for a depthwise conv: x [B,H,W,C], dy [B,oh,ow,C·M] → [kh,kw,C,M]. */
export function depthwiseBackpropFilter(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
    assertUndilated(a);
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      a.filterShape,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
      true,
    );
    const ops = new KernelOps(backend as KernelBackend, backendName);
    const [b, , , c] = x.shape;
    const [kh, kw, , m] = a.filterShape;
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const needH = kh - 1 + (info.outHeight - 1) * sh + 1;
    const needW = kw - 1 + (info.outWidth - 1) * sw + 1;
    const xt = ops.reshape(ops.transpose(x, [1, 2, 0, 3]), [1, info.inHeight, info.inWidth, b * c]);
    const padded = ops.padOrCrop(
      xt,
      info.padInfo.top,
      needH - info.inHeight - info.padInfo.top,
      info.padInfo.left,
      needW - info.inWidth - info.padInfo.left,
    );
    const filter = ops.reshape(ops.transpose(dy, [1, 2, 0, 3]), [info.outHeight, info.outWidth, b * c, m]);
    const conv = ops.run(
      'DepthwiseConv2dNative',
      { x: padded, filter },
      { strides: [1, 1], pad: 'valid', dilations: [sh, sw] },
    );
    const summed = ops.sum(ops.reshape(conv, [kh * kw, b, c * m]), [1]);
    return ops.release(ops.reshape(summed, [kh, kw, c, m]));
  };
}

/** dx for a depthwise conv: dy [B,oh,ow,C·M], filter [kh,kw,C,M] → [B,H,W,C]. */
export function depthwiseBackpropInput(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
    assertUndilated(a);
    const info = backend_util.computeConv2DInfo(
      a.inputShape,
      filter.shape as [number, number, number, number],
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
      true,
    );
    const ops = new KernelOps(backend as KernelBackend, backendName);
    const [kh, kw, c, m] = filter.shape;
    const dilated = ops.dilate(dy, info.strideHeight, info.strideWidth);
    const [lh, lw] = [dilated.shape[1], dilated.shape[2]];
    const top = kh - 1 - info.padInfo.top;
    const left = kw - 1 - info.padInfo.left;
    const padded = ops.padOrCrop(
      dilated,
      top,
      info.inHeight + kh - 1 - lh - top,
      left,
      info.inWidth + kw - 1 - lw - left,
    );
    const rotated = ops.reshape(ops.reverse(filter, [0, 1]), [kh, kw, c * m, 1]);
    const conv = ops.run(
      'DepthwiseConv2dNative',
      { x: padded, filter: rotated },
      { strides: [1, 1], pad: 'valid', dilations: [1, 1] },
    );
    if (m === 1) return ops.release(conv);
    const [b, h, w] = conv.shape;
    return ops.release(ops.sum(ops.reshape(conv, [b, h, w, c, m]), [4]));
  };
}

export function fastConvGradKernels(backendName: string): KernelConfig[] {
  return [
    { kernelName: 'Conv2DBackpropFilter', backendName, kernelFunc: conv2dBackpropFilter(backendName) },
    { kernelName: 'Conv2DBackpropInput', backendName, kernelFunc: conv2dBackpropInput(backendName) },
    {
      kernelName: 'DepthwiseConv2dNativeBackpropFilter',
      backendName,
      kernelFunc: depthwiseBackpropFilter(backendName),
    },
    { kernelName: 'DepthwiseConv2dNativeBackpropInput', backendName, kernelFunc: depthwiseBackpropInput(backendName) },
  ];
}
