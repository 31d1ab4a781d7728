import type { BackendName } from '../backend';
import type { OptimizerName } from '../optimizers';

/** What the main thread tells a training worker, and what it answers. */
export interface ReplicaSpec {
  architecture: string;
  inputShape: [number, number, number];
  numClasses: number;
  seed: number;
  optimizer: OptimizerName;
  learningRate: number;
  weightDecay?: number;
  backend: BackendName;
  /** Distinct per replica: its dropout masks differ from the others'. */
  salt: number;
}

export type ToWorker =
  | { type: 'init'; spec: ReplicaSpec; weights: Float32Array[] }
  | { type: 'step'; xs: Float32Array; ys: Float32Array; n: number }
  | { type: 'apply'; grads: Float32Array[] }
  | { type: 'learning-rate'; learningRate: number }
  | { type: 'momentum'; momentum: number }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'grads'; loss: number; accuracy: number; grads: Float32Array[] }
  | { type: 'error'; message: string };
