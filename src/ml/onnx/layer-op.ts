import { InvalidDataError } from '../../errors';
import type { tf } from '../tf';
import type { GraphBuilder } from './graph';

/**
 * What one layer type contributes to an ONNX graph: its forward nodes, and beside them the nodes of
 * its gradient (as PyTorch's derivatives.yaml and onnxruntime's gradient builder keep one backward
 * formula per op). The export, evaluation, batch-norm statistics and the training step all come
 * from the same entries (layer-walk.ts).
 */

/**
 * inference: batch-norm by its moving statistics, dropout off (the export, evaluation);
 * train: batch-norm by the batch, moving statistics updated, dropout by a mask given per step;
 * statistics: batch-norm by the batch and each layer's batch moments returned, dropout off
 * (precise batch-norm's pass).
 */
export type ForwardMode = 'inference' | 'train' | 'statistics';

/** A value in the graph: NCHW for images ([C, H, W] without the batch), [F] for features. */
export interface Value {
  name: string;
  dims: number[];
  /** It depends on a trainable weight: the backward pass needs its gradient. */
  requiresGrad: boolean;
}

interface LayerContext {
  g: GraphBuilder;
  layer: tf.layers.Layer;
  config: Record<string, unknown>;
  inputs: Value[];
  /** The layer's output dims without the batch, in ONNX order. */
  outDims: number[];
  /** One of this layer's weights in ONNX layout (kernel, bias, gamma, moving_mean, …), if it has it. */
  weight(key: string): string | undefined;
  /** Whether that weight is a kernel held in the NCHWc layout (weight-layout.ts), not [O, I, kh, kw]. */
  blocked(key: string): boolean;
  /** The batch size as a float scalar, computed from the input. */
  batchSize(): string;
}

export interface ForwardContext extends LayerContext {
  mode: ForwardMode;
  /** Keeps a forward value for the backward pass. */
  save(key: string, value: string): void;
  /** train: a non-trainable weight's value after this step (batch-norm moving statistics). */
  updated(key: string, value: string): void;
  /** statistics: this batch-norm layer's batch mean and biased variance per channel ([C] each). */
  statistics(mean: string, variance: string): void;
  /** train: this dropout layer's mask for the step (0 or 1/(1 − rate) per value), [N, …dims]. */
  mask(dims: number[]): string;
}

export interface BackwardContext extends LayerContext {
  saved(key: string): string;
  /** The gradient of one of this layer's trainable weights, in ONNX layout. */
  gradient(key: string, value: string): void;
  /**
   * The gradient arriving is already that of the logits under the final softmax (the loss fuses
   * softmax and cross-entropy), so the softmax itself is not differentiated again.
   */
  fromLogits: boolean;
}

export interface LayerOp {
  /** Appends the forward nodes; returns the output's name. */
  forward(ctx: ForwardContext): string;
  /**
   * Appends the nodes of the gradients: of its inputs (null where an input needs none) given the
   * output's gradient `dy`, and of its weights through ctx.gradient. Absent: no gradient flows.
   */
  backward?(ctx: BackwardContext, dy: string): Array<string | null>;
}

/** A layer type the walk has no entry for: which one, so that the message can say. */
/**
 * A layer (or a use of one) the ONNX walk has no entry for: export and onnxruntime training
 * cannot take the model. A user's error about their model, said in one line, not a crash.
 */
export class UnsupportedLayerError extends InvalidDataError {
  constructor(readonly layer: string) {
    super(
      `layer type ${layer} has no ONNX conversion`,
      'train it with --backend wasm, or add the layer type to src/ml/onnx/layers (docs/contributing.md)',
      { reason: 'layer-unsupported', subject: layer },
    );
  }
}
