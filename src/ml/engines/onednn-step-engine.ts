import type { AdamScalars, OneDnnBinding } from '../onednn/binding';
import type { NetworkPlan } from '../onednn/plan';
import { OPTIMIZER_RULES } from '../onnx/optimizer-rules';
import { Mulberry32Stream } from '../seeded';
import { tf } from '../tf';
import { batchAccuracy, type StepEngine } from './step-engine';

export interface OneDnnEngineOptions {
  learningRate: number;
  /** Targets other than one-hot rows (smoothed, weighted): the loss gradient takes them whole. */
  softTargets?: boolean;
  /** β₁ set each step by setMomentum (onecycle). */
  cycleMomentum?: boolean;
}

const f32 = Math.fround;

/**
 * Training on oneDNN (mldb's addon, native/onednn): the network lives in the addon, its weights
 * and Adam's moments in oneDNN's own layouts from the first step to the last, activations held
 * blocked from the first convolution to the head; a step is one call off the event loop. The
 * update is tfjs' Adam with the scalars onnx/optimizer-rules.ts computes, so the three engines
 * move the weights alike. Dropout masks are drawn as onnxruntime's step draws them (the same
 * seeded streams, the same order). The tfjs model only receives the weights when syncModel is called.
 */
export function oneDnnStepEngine(binding: OneDnnBinding, plan: NetworkPlan, o: OneDnnEngineOptions): StepEngine {
  const net = new binding.Network(plan.input, plan.layers);
  for (const w of plan.weights) net.setWeight(w.layer, w.key, w.variable.read().dataSync() as Float32Array);
  const rule = o.cycleMomentum ? OPTIMIZER_RULES.adam.cycled! : OPTIMIZER_RULES.adam;
  const masks = plan.masks.map((m) => ({ ...m, random: new Mulberry32Stream(m.seed) }));
  const maskBuffers = new Map<number, Float32Array[]>();
  const masksFor = (n: number) => {
    let buffers = maskBuffers.get(n);
    if (!buffers) {
      // A run has its batch size and an epoch's last, smaller batch; more sizes than a few are not kept.
      if (maskBuffers.size >= 4) maskBuffers.clear();
      buffers = masks.map((m) => new Float32Array(n * m.size));
      maskBuffers.set(n, buffers);
    }
    return buffers;
  };
  let learningRate = o.learningRate;
  let momentum: number | undefined;
  let steps = 0;

  const adamScalars = (): AdamScalars => {
    const s = rule.scalars(steps, learningRate, undefined, momentum);
    // The constant-β₁ rule's graph holds β₁ and 1 − β₁ as float32 constants.
    return {
      beta1: f32(s.beta1 ?? 0.9),
      oneMinusBeta1: f32(s.oneMinusBeta1 ?? 1 - 0.9),
      oneMinusAccBeta1: s.oneMinusAccBeta1,
      oneMinusAccBeta2: s.oneMinusAccBeta2,
      negLr: f32(s.negLr),
    };
  };

  return {
    backend: 'onednn',
    workers: 1,
    async step(xs, ys, n) {
      steps++;
      const buffers = masksFor(n);
      // Inverted dropout's multipliers: 0 with probability `rate`, else 1/(1 − rate), as tfjs draws them.
      masks.forEach((m, k) => m.random.fillThreshold(buffers[k], m.rate, 0, 1 / (1 - m.rate)));
      const out = await net.step(xs, ys, n, buffers, adamScalars(), o.softTargets ?? false);
      return { loss: out.loss, accuracy: batchAccuracy(out.probabilities, ys, n) };
    },
    setLearningRate(lr) {
      learningRate = lr;
    },
    setMomentum(m) {
      momentum = m;
    },
    predict: (xs, n) => net.predict(xs, n),
    batchNorm: {
      layers: plan.batchNorms.length,
      async moments(xs, n) {
        const stats = await net.moments(xs, n);
        return stats.map((s, k) => ({ ...s, count: n * plan.batchNorms[k].valuesPerRow }));
      },
      write(statistics) {
        plan.batchNorms.forEach((bn, k) => {
          net.setWeight(bn.layer, 'moving_mean', statistics[k].mean);
          net.setWeight(bn.layer, 'moving_variance', statistics[k].variance);
        });
      },
    },
    syncModel() {
      for (const w of plan.weights) {
        const values = new Float32Array(w.shape.reduce((a, b) => a * b, 1));
        net.getWeight(w.layer, w.key, values);
        tf.tidy(() => {
          w.variable.write(tf.tensor(values, w.shape));
        });
      }
    },
    async close() {
      // Now, not when the garbage collector finds the wrapper: an experiment trains many networks.
      net.release();
    },
  };
}
