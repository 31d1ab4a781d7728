import { int } from '../graph';
import { UnsupportedLayerError, type BackwardContext, type ForwardContext, type LayerOp } from '../layer-op';

/** The activation a layer applies after its own computation ("linear" when none). */
function activationOf(ctx: { config: Record<string, unknown>; layer: { getClassName(): string } }): string {
  if (ctx.layer.getClassName() === 'ReLU') return 'relu';
  return (ctx.config.activation as string | undefined) ?? 'linear';
}

/** ONNX element types (TensorProto.DataType). */
const FLOAT = 1;
const BOOL = 9;

/** Softmax over the channels: axis 1 in NCHW and in [N, F] alike. */
const CHANNELS = 1;

/** Applies the layer's activation to `x`, keeping the result for the backward pass. */
export function activate(ctx: ForwardContext, x: string): string {
  const a = activationOf(ctx);
  let y: string;
  if (a === 'linear') return x;
  if (a === 'relu') y = ctx.g.node('Relu', [x]);
  else if (a === 'softmax') y = ctx.g.node('Softmax', [x], [int('axis', CHANNELS)]);
  else throw new UnsupportedLayerError(`${ctx.layer.getClassName()} with activation ${a}`);
  ctx.save('activated', y);
  return y;
}

/** The gradient before the activation, given the one after it. */
export function activationGradient(ctx: BackwardContext, dy: string): string {
  const a = activationOf(ctx);
  const g = ctx.g;
  if (a === 'linear') return dy;
  const y = ctx.saved('activated');
  // relu: the gradient passes where the output is positive (relu(x) > 0 ⇔ x > 0), which for an
  // output ≥ 0 is where it is not 0: dy times that mask as a float. Cast's float → bool → float is
  // the fastest mask onnxruntime has (a Where with a broadcast 0 took two and a half times as long).
  if (a === 'relu') {
    const mask = g.node('Cast', [g.node('Cast', [y], [int('to', BOOL)])], [int('to', FLOAT)]);
    return g.node('Mul', [dy, mask]);
  }
  if (ctx.fromLogits) return dy;
  // softmax: dx = y ⊙ (dy − Σ dy ⊙ y)
  const dot = g.node('ReduceSum', [g.node('Mul', [dy, y]), g.int64s([CHANNELS])], [int('keepdims', 1)]);
  return g.node('Mul', [y, g.node('Sub', [dy, dot])]);
}

/** Activation and ReLU layers: the activation alone. */
export const activationLayer: LayerOp = {
  forward: (ctx) => activate(ctx, ctx.inputs[0].name),
  backward: (ctx, dy) => [activationGradient(ctx, dy)],
};
