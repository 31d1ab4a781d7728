import type { tf } from '../tf';
import { GraphBuilder, type KernelOptions } from './graph';
import { walkModel, type WeightSlot } from './layer-walk';
import { PROBABILITIES_OUTPUT } from './training-graph';

/**
 * The forward graphs a training engine runs beside its step, with the weights as inputs (fed the
 * step's current tensors, so nothing is rebuilt as they change): evaluation (batch-norm by its
 * moving statistics, dropout off) and the batch-norm statistics pass of precise batch-norm.
 */

export interface ForwardGraph {
  bytes: Uint8Array;
  /** The weights it reads, as graph inputs. */
  weights: WeightSlot[];
}

export function evaluationGraph(model: tf.LayersModel, kernels?: KernelOptions): ForwardGraph {
  const g = new GraphBuilder(kernels);
  const walk = walkModel(model, g, { mode: 'inference', weights: 'inputs' });
  g.node('Identity', [walk.output.name], [], PROBABILITIES_OUTPUT);
  g.output(PROBABILITIES_OUTPUT, ['N', ...walk.output.dims]);
  return { bytes: g.encode(`${model.name}_evaluate`), weights: walk.weights };
}

export interface StatisticsGraph extends ForwardGraph {
  /** Per batch-norm layer, in the model's order: the outputs of its input's batch mean and variance. */
  layers: Array<{ layer: string; mean: string; variance: string; channels: number; valuesPerChannel: number }>;
}

/** Batch-norm normalising by each batch (as in training), dropout off: each layer's input moments. */
export function statisticsGraph(model: tf.LayersModel, kernels?: KernelOptions): StatisticsGraph {
  const g = new GraphBuilder(kernels);
  const walk = walkModel(model, g, { mode: 'statistics', weights: 'inputs' });
  const layers = walk.statistics.map((s) => {
    const mean = `statistics:${s.layer}:mean`;
    const variance = `statistics:${s.layer}:variance`;
    g.node('Identity', [s.mean], [], mean);
    g.node('Identity', [s.variance], [], variance);
    g.output(mean, [s.channels]);
    g.output(variance, [s.channels]);
    return { ...s, mean, variance };
  });
  return { bytes: g.encode(`${model.name}_statistics`), weights: walk.weights, layers };
}
