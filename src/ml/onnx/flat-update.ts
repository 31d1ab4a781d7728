import { int, type GraphBuilder } from './graph';
import type { WeightSlot } from './layer-walk';
import type { OptimizerRule } from './optimizer-rules';

/**
 * The optimizer's update of every trainable weight at once, over one flat vector: each rule is
 * elementwise, so one set of nodes over the concatenated weights gives what a set per weight
 * gives, bit for bit — where one set per weight was some 500 small nodes a step (simple_cnn's 38
 * weights under Adam), each paying onnxruntime's per-node dispatch. The optimizer state lives
 * flat (one tensor per slot of the rule, never split); the weights stay one tensor each, as the
 * forward pass and the tfjs model read them, so they are concatenated in and split out.
 */

export interface FlatUpdate {
  /** Each weight's next value, in the order given. */
  weights: string[];
  /** The flat state: per rule slot, its input and its next value. */
  state: Array<{ input: string; next: string; initial: number }>;
  /** Elements in the flat vector. */
  size: number;
}

const flatten = (g: GraphBuilder, v: string) => g.node('Reshape', [v, g.int64s([-1])]);

export function flatUpdate(
  g: GraphBuilder,
  rule: OptimizerRule,
  weights: Array<{ slot: WeightSlot; grad: string }>,
  scalars: Record<string, string>,
): FlatUpdate {
  const sizes = weights.map(({ slot }) => slot.onnxDims.reduce((a, b) => a * b, 1));
  const size = sizes.reduce((a, b) => a + b, 0);
  const concat = (values: string[]) =>
    values.length === 1
      ? flatten(g, values[0])
      : g.node(
          'Concat',
          values.map((v) => flatten(g, v)),
          [int('axis', 0)],
        );
  const w = concat(weights.map(({ slot }) => slot.name));
  const grad = concat(weights.map(({ grad }) => grad));
  const inputs = rule.slots.map((s) => g.input(`optimizer/${s.suffix}`, [size]));
  const update = rule.update(g, w, grad, inputs, scalars);
  // Slices rather than one Split: onnxruntime 1.23 fails to read a Split's sizes once its full
  // optimisation level has moved the initializer holding them out of the graph.
  let offset = 0;
  const parts = sizes.map((n) => {
    offset += n;
    return g.node('Slice', [update.weight, g.int64s([offset - n]), g.int64s([offset])]);
  });
  return {
    weights: parts.map((p, i) => g.node('Reshape', [p, g.int64s(weights[i].slot.onnxDims)])),
    state: rule.slots.map((s, i) => ({ input: inputs[i], next: update.state[i], initial: s.initial })),
    size,
  };
}
