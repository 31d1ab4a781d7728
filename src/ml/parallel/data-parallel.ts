import { Worker } from 'node:worker_threads';
import { MldbError, EXIT } from '../../errors';
import { workerFile } from '../../worker-file';
import type { BackendName } from '../backend';
import { setLearningRate, setMomentum, type OptimizerName } from '../optimizers';
import { tf } from '../tf';
import type { FromWorker, ReplicaSpec, ToWorker } from './messages';
import { applyGradients, averageGradients, computeGradients } from './replica';

/** One training step on a batch: what the trainer needs, whoever computes it. */
export interface Stepper {
  step(xs: Float32Array, ys: Float32Array, n: number): Promise<{ loss: number; accuracy: number }>;
  /** From the next step on (reduce-on-plateau): every replica's optimizer alike. */
  setLearningRate(lr: number): void;
  /** Likewise the momentum (onecycle's cycling). */
  setMomentum(momentum: number): void;
  close(): Promise<void>;
}

/** The model trains itself: LayersModel.trainOnBatch on the main thread. */
export function localStepper(model: tf.LayersModel): Stepper {
  const inputShape = model.inputs[0].shape.slice(1) as number[];
  const numClasses = model.outputs[0].shape[1] as number;
  return {
    async step(xs, ys, n) {
      const x = tf.tensor(xs, [n, ...inputShape]);
      const y = tf.tensor2d(ys, [n, numClasses]);
      try {
        const [loss, accuracy] = (await model.trainOnBatch(x, y)) as number[];
        return { loss, accuracy };
      } finally {
        tf.dispose([x, y]);
      }
    },
    setLearningRate: (lr) => setLearningRate(model.optimizer, lr),
    setMomentum: (m) => setMomentum(model.optimizer, m),
    async close() {},
  };
}

class Replica {
  private readonly worker: Worker;
  private pending?: { resolve: (m: FromWorker) => void; reject: (e: Error) => void };
  private failure?: Error;

  constructor() {
    this.worker = new Worker(workerFile(__dirname, 'worker.js'));
    this.worker.on('message', (m: FromWorker) => {
      const p = this.pending;
      this.pending = undefined;
      if (m.type === 'error') {
        const e = new MldbError(`a training worker failed: ${m.message}`, EXIT.INTERNAL);
        if (p) p.reject(e);
        else this.failure = e; // an 'apply' failed: the next step reports it
      } else p?.resolve(m);
    });
    this.worker.on('error', (e) => {
      this.failure = e;
      this.pending?.reject(e);
    });
    // A worker that dies without an error event (killed, out of memory) must not leave a step waiting.
    this.worker.on('exit', (code) => {
      this.failure ??= new MldbError(
        `a training worker stopped (exit code ${code})`,
        EXIT.INTERNAL,
        'run again, or train with --workers 1',
      );
      this.pending?.reject(this.failure);
      this.pending = undefined;
    });
  }

  post(msg: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage(msg, transfer);
  }

  request(msg: ToWorker, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      try {
        this.post(msg, transfer);
      } catch (e) {
        reject(e as Error);
      }
    });
  }

  async close(): Promise<void> {
    if (this.failure) return; // already gone
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.failure = new MldbError('the training worker was closed', EXIT.INTERNAL);
    this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    await exited;
  }
}

export interface ParallelOptions {
  architecture: string;
  seed: number;
  optimizer: OptimizerName;
  learningRate: number;
  /** AdamW's decoupled decay. */
  weightDecay?: number;
  backend: BackendName;
  /** Replicas in all, the main thread included: 2 uses two cores. */
  workers: number;
}

/**
 * Synchronous data-parallel training: each batch is split between the main thread's model and
 * `workers - 1` worker threads, each on its own core; their gradients are averaged (weighted by
 * share) and every replica applies the same update with its own identical optimizer, so the
 * weights never drift apart. The main thread's model is the one that is saved; its batch-norm
 * moving statistics come from its own share of each batch.
 */
export async function dataParallelStepper(model: tf.LayersModel, o: ParallelOptions): Promise<Stepper> {
  const optimizer = model.optimizer;
  const spec = (salt: number): ReplicaSpec => ({
    architecture: o.architecture,
    inputShape: model.inputs[0].shape.slice(1) as [number, number, number],
    numClasses: model.outputs[0].shape[1] as number,
    seed: o.seed,
    optimizer: o.optimizer,
    learningRate: o.learningRate,
    weightDecay: o.weightDecay,
    backend: o.backend,
    salt,
  });
  const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
  const replicas = Array.from({ length: o.workers - 1 }, () => new Replica());
  try {
    await Promise.all(
      replicas.map((r, i) =>
        r.request({ type: 'init', spec: spec(i + 1), weights: weights.map((w) => new Float32Array(w)) }),
      ),
    );
  } catch (e) {
    await Promise.all(replicas.map((r) => r.close().catch(() => undefined)));
    throw e;
  }
  const inputSize = (model.inputs[0].shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const numClasses = model.outputs[0].shape[1] as number;
  return {
    async step(xs, ys, n) {
      // Shares as even as the batch allows, larger ones first: the main thread always has rows (a
      // batch smaller than the replicas, such as an epoch's last, leaves workers out, not it).
      const W = o.workers;
      const shares = Array.from(
        { length: W },
        (_, i) => Math.floor((n * (W - i)) / W) - Math.floor((n * (W - i - 1)) / W),
      );
      const starts = shares.map((_, i) => shares.slice(0, i).reduce((a, b) => a + b, 0));
      const remote = replicas.map((r, i) => {
        const k = i + 1;
        const m = shares[k];
        if (m === 0) return Promise.resolve(null);
        const xPart = xs.slice(starts[k] * inputSize, (starts[k] + m) * inputSize);
        const yPart = ys.slice(starts[k] * numClasses, (starts[k] + m) * numClasses);
        return r
          .request({ type: 'step', xs: xPart, ys: yPart, n: m }, [xPart.buffer, yPart.buffer])
          .then((res) => ({ res, n: m }));
      });
      const local = computeGradients(
        model,
        xs.subarray(0, shares[0] * inputSize),
        ys.subarray(0, shares[0] * numClasses),
        shares[0],
      );
      const parts = [{ grads: local.grads, n: shares[0], loss: local.loss, accuracy: local.accuracy }];
      for (const p of await Promise.all(remote)) {
        if (p && p.res.type === 'grads')
          parts.push({ grads: p.res.grads, n: p.n, loss: p.res.loss, accuracy: p.res.accuracy });
      }
      const averaged = averageGradients(parts);
      // Every replica applies the same update; posting is ordered before the next step. Once this
      // thread's backend holds its copy of the gradients, the arrays go to the workers before this
      // thread applies (the workers apply meanwhile): transferred to the last, cloned for the others.
      applyGradients(model, optimizer, averaged, () =>
        replicas.forEach((r, i) =>
          r.post(
            { type: 'apply', grads: averaged },
            i === replicas.length - 1 ? averaged.map((g) => g.buffer as ArrayBuffer) : [],
          ),
        ),
      );
      const weight = (f: (p: (typeof parts)[number]) => number) => parts.reduce((a, p) => a + f(p) * p.n, 0) / n;
      return { loss: weight((p) => p.loss), accuracy: weight((p) => p.accuracy) };
    },
    setLearningRate(lr) {
      // Posted, so ordered before the next step's messages.
      replicas.forEach((r) => r.post({ type: 'learning-rate', learningRate: lr }));
      setLearningRate(optimizer, lr);
    },
    setMomentum(m) {
      replicas.forEach((r) => r.post({ type: 'momentum', momentum: m }));
      setMomentum(optimizer, m);
    },
    async close() {
      await Promise.all(replicas.map((r) => r.close()));
    },
  };
}
