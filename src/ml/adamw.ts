import { tf } from './tf';

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter, as torch.optim.AdamW): each step first
 * shrinks every weight by lr·decay, then applies tfjs' Adam update — the decay never enters the
 * moments, unlike an L2 term in the loss. tfjs has no AdamW; the onnxruntime rule
 * (onnx/optimizer-rules.ts) does the same operations in the same order. The rate is read on every
 * step, so a schedule or reduce-on-plateau scales the decay too, as in torch.
 */
export class AdamWOptimizer extends tf.AdamOptimizer {
  static override get className(): string {
    return 'AdamW';
  }

  constructor(
    learningRate: number,
    readonly weightDecay: number,
  ) {
    super(learningRate, 0.9, 0.999);
  }

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    const keep = Math.fround(1 - this.learningRate * this.weightDecay);
    tf.tidy(() => {
      for (const name of names) {
        const variable = tf.engine().registeredVariables[name];
        variable.assign(tf.mul(variable, tf.scalar(keep)));
      }
    });
    super.applyGradients(variableGradients);
  }
}
