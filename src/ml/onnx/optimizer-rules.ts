import { ADAMW_WEIGHT_DECAY, type OptimizerName } from '../optimizer-names';
import type { GraphBuilder } from './graph';

/**
 * tfjs' optimizers (tf.train.*, with the defaults makeOptimizer gives them) as ONNX nodes: the same
 * update rules in the same order of operations, so that a step on onnxruntime moves the weights as
 * a step on tfjs does. ε is the float32 backends' epsilon (1e-7), as tfjs takes it from its backend.
 * Per-step numbers (the learning rate, Adam's bias corrections) are graph inputs, computed here in
 * float32 as tfjs' scalar variables hold them: a rate can change between steps without a new session.
 * A schedule that sets the momentum (onecycle) takes each rule's `cycled` twin, where momentum's
 * coefficient or Adam's β₁ is an input too; the other rules' graphs stay as they were, constants
 * and all.
 */

const EPSILON = 1e-7;
const f32 = Math.fround;

export interface OptimizerRule {
  /** The state each weight keeps (a tensor of the weight's shape each), with its initial value. */
  slots: Array<{ suffix: string; initial: number }>;
  /**
   * The scalars of step `step` (1, 2, …) at learning rate `lr` (and AdamW's decay; the step's
   * momentum or β₁ for a `cycled` rule), by name.
   */
  scalars(step: number, lr: number, weightDecay?: number, momentum?: number): Record<string, number>;
  /**
   * One weight's update: its new value and its new state (in `slots` order), given its value `w`,
   * its gradient, its state and the scalars' graph names.
   */
  update(g: GraphBuilder, w: string, grad: string, state: string[], s: Record<string, string>): Update;
  /** The same rule with its momentum (β₁) given each step, where it has one. */
  cycled?: OptimizerRule;
}

interface Update {
  weight: string;
  state: string[];
}

/** β^step as tfjs accumulates it: a float32 variable multiplied by β after every step. */
function power(beta: number, step: number): number {
  let acc = f32(beta);
  for (let i = 1; i < step; i++) acc = f32(acc * f32(beta));
  return acc;
}

const sgd: OptimizerRule = {
  slots: [],
  scalars: (_step, lr) => ({ negLr: -lr }),
  update: (g, w, grad, _state, s) => ({ weight: g.node('Add', [g.node('Mul', [s.negLr, grad]), w]), state: [] }),
};

const MOMENTUM = 0.9;

/**
 * Momentum 0.9 (or the step's, cycled: the input `mu`, as `momentum` names the slot), no
 * Nesterov: acc ← m·acc + g; w ← w − lr·acc.
 */
function momentumRule(cycled: boolean): OptimizerRule {
  return {
    slots: [{ suffix: 'momentum', initial: 0 }],
    scalars: (_step, lr, _decay, m = MOMENTUM): Record<string, number> =>
      cycled ? { negLr: -lr, mu: m } : { negLr: -lr },
    update(g, w, grad, [acc], s) {
      const m = cycled ? s.mu : g.scalar(MOMENTUM);
      const next = g.node('Add', [g.node('Mul', [m, acc]), grad]);
      return { weight: g.node('Add', [g.node('Mul', [s.negLr, next]), w]), state: [next] };
    },
  };
}
const momentum: OptimizerRule = { ...momentumRule(false), cycled: momentumRule(true) };

/**
 * Decay 0.9, momentum 0, not centred: ms ← 0.9·ms + 0.1·g²; w ← w − lr·g/√(ms + ε). (tfjs also
 * keeps a momentum accumulator, which momentum 0 makes 0·acc: it is left out.)
 */
const rmsprop: OptimizerRule = {
  slots: [{ suffix: 'rms', initial: 0 }],
  scalars: (_step, lr) => ({ lr }),
  update(g, w, grad, [ms], s) {
    const next = g.node('Add', [
      g.node('Mul', [ms, g.scalar(0.9)]),
      g.node('Mul', [g.node('Mul', [grad, grad]), g.scalar(1 - 0.9)]),
    ]);
    const step = g.node('Div', [
      g.node('Mul', [grad, s.lr]),
      g.node('Sqrt', [g.node('Add', [next, g.scalar(EPSILON)])]),
    ]);
    return { weight: g.node('Sub', [w, step]), state: [next] };
  },
};

/** Accumulator from 0.1: acc ← acc + g²; w ← w − lr·g/√(acc + ε). */
const adagrad: OptimizerRule = {
  slots: [{ suffix: 'accumulator', initial: 0.1 }],
  scalars: (_step, lr) => ({ negLr: -lr }),
  update(g, w, grad, [acc], s) {
    const next = g.node('Add', [acc, g.node('Mul', [grad, grad])]);
    const ratio = g.node('Div', [grad, g.node('Sqrt', [g.node('Add', [next, g.scalar(EPSILON)])])]);
    return { weight: g.node('Add', [g.node('Mul', [ratio, s.negLr]), w]), state: [next] };
  },
};

/**
 * ρ 0.95. tfjs scales the step by the accumulated gradient from before this step's update (Keras
 * uses the updated one); mldb follows tfjs, so that both engines train alike.
 */
const adadelta: OptimizerRule = {
  slots: [
    { suffix: 'accum_grad', initial: 0 },
    { suffix: 'accum_var', initial: 0 },
  ],
  scalars: (_step, lr) => ({ negLr: -lr }),
  update(g, w, grad, [accGrad, accUpdate], s) {
    const rho = 0.95;
    const eps = g.scalar(EPSILON);
    const square = (v: string) => g.node('Mul', [v, v]);
    const nextGrad = g.node('Add', [
      g.node('Mul', [accGrad, g.scalar(rho)]),
      g.node('Mul', [square(grad), g.scalar(1 - rho)]),
    ]);
    const sqrtOf = (v: string) => g.node('Sqrt', [g.node('Add', [v, eps])]);
    const updates = g.node('Mul', [g.node('Div', [sqrtOf(accUpdate), sqrtOf(accGrad)]), grad]);
    const nextUpdate = g.node('Add', [
      g.node('Mul', [accUpdate, g.scalar(rho)]),
      g.node('Mul', [square(updates), g.scalar(1 - rho)]),
    ]);
    return { weight: g.node('Add', [g.node('Mul', [updates, s.negLr]), w]), state: [nextGrad, nextUpdate] };
  },
};

const BETA1 = 0.9;

/**
 * 1 − β₁^step for a β₁ that changes from step to step: torch's bias correction takes the step's
 * β₁ to the step's power (adam.py: `1 - beta1 ** step`), not the product of the β₁s so far, and
 * tfjs' optimizers (optimizers.ts' setMomentum) set their accumulator to the same float32 power.
 */
const oneMinusPower = (beta1: number, step: number) => f32(1 - f32(beta1 ** step));

/** The first moment's update, β₁ a constant or the step's input: m ← β₁·m + (1 − β₁)·g. */
function firstMoment(g: GraphBuilder, m: string, grad: string, s: Record<string, string>, cycled: boolean): string {
  // Nodes and constants in the order the constant-β₁ graph has always had them: its bytes unchanged.
  const kept = g.node('Mul', [m, cycled ? s.beta1 : g.scalar(BETA1)]);
  const added = g.node('Mul', [grad, cycled ? s.oneMinusBeta1 : g.scalar(1 - BETA1)]);
  return g.node('Add', [kept, added]);
}

/** β₁ 0.9 (or the step's, cycled), β₂ 0.999: m, v and bias corrections by β^step as tfjs accumulates them. */
function adamRule(cycled: boolean): OptimizerRule {
  return {
    slots: [
      { suffix: 'm', initial: 0 },
      { suffix: 'v', initial: 0 },
    ],
    scalars: (step, lr, _decay, beta1 = BETA1) => ({
      negLr: -lr,
      ...(cycled
        ? { beta1, oneMinusBeta1: 1 - beta1, oneMinusAccBeta1: oneMinusPower(beta1, step) }
        : { oneMinusAccBeta1: f32(1 - power(BETA1, step)) }),
      oneMinusAccBeta2: f32(1 - power(0.999, step)),
    }),
    update(g, w, grad, [m, v], s) {
      const nextM = firstMoment(g, m, grad, s, cycled);
      const nextV = g.node('Add', [
        g.node('Mul', [v, g.scalar(0.999)]),
        g.node('Mul', [g.node('Mul', [grad, grad]), g.scalar(1 - 0.999)]),
      ]);
      const mHat = g.node('Div', [nextM, s.oneMinusAccBeta1]);
      const vHat = g.node('Div', [nextV, s.oneMinusAccBeta2]);
      const ratio = g.node('Div', [mHat, g.node('Add', [g.node('Sqrt', [vHat]), g.scalar(EPSILON)])]);
      return { weight: g.node('Add', [g.node('Mul', [ratio, s.negLr]), w]), state: [nextM, nextV] };
    },
  };
}
const adam: OptimizerRule = { ...adamRule(false), cycled: adamRule(true) };

/**
 * AdamW (decoupled weight decay, as adamw.ts on tfjs): w ← w·(1 − lr·decay), then Adam's update
 * of the shrunk weight.
 */
function adamwRule(adamOf: OptimizerRule): OptimizerRule {
  return {
    slots: adamOf.slots,
    scalars: (step, lr, weightDecay = ADAMW_WEIGHT_DECAY, beta1) => ({
      ...adamOf.scalars(step, lr, undefined, beta1),
      keep: f32(1 - lr * weightDecay),
    }),
    update(g, w, grad, state, s) {
      return adamOf.update(g, g.node('Mul', [w, s.keep]), grad, state, s);
    },
  };
}
const adamw: OptimizerRule = { ...adamwRule(adam), cycled: adamwRule(adam.cycled!) };

/** β₁ 0.9 (or the step's, cycled), β₂ 0.999, decay 0: u ← max(β₂·u, |g|); w ← w − lr/(1 − β₁^step) · m/(u + ε). */
function adamaxRule(cycled: boolean): OptimizerRule {
  return {
    slots: [
      { suffix: 'm', initial: 0 },
      { suffix: 'v', initial: 0 },
    ],
    scalars: (step, lr, _decay, beta1 = BETA1): Record<string, number> =>
      cycled
        ? { beta1, oneMinusBeta1: 1 - beta1, stepSize: f32(f32(-lr) / oneMinusPower(beta1, step)) }
        : { stepSize: f32(f32(-lr) / f32(1 - power(BETA1, step))) },
    update(g, w, grad, [m, u], s) {
      const nextM = firstMoment(g, m, grad, s, cycled);
      const nextU = g.node('Max', [g.node('Mul', [u, g.scalar(0.999)]), g.node('Abs', [grad])]);
      const ratio = g.node('Div', [nextM, g.node('Add', [nextU, g.scalar(EPSILON)])]);
      return { weight: g.node('Add', [g.node('Mul', [s.stepSize, ratio]), w]), state: [nextM, nextU] };
    },
  };
}
const adamax: OptimizerRule = { ...adamaxRule(false), cycled: adamaxRule(true) };

export const OPTIMIZER_RULES: Readonly<Record<OptimizerName, OptimizerRule>> = {
  sgd,
  momentum,
  rmsprop,
  adagrad,
  adadelta,
  adam,
  adamax,
  adamw,
};
