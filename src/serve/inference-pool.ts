import { Worker } from 'node:worker_threads';
import type { ModelFiles } from '../db/models';
import { EXIT, MldbError } from '../errors';
import type { BackendName } from '../ml/backend-names';
import { workerFile } from '../worker-file';
import type { FromInference, ToInference } from './inference-messages';

interface Slot {
  worker: Worker;
  busy: boolean;
}

/**
 * Model copies on worker threads, one batch each at a time. The wasm backend computes on the
 * thread that calls it, so this is how the service uses more than one core; it also keeps the
 * main thread free to take the next requests while a batch computes.
 */
export class InferencePool {
  #slots: Slot[] = [];
  #seq = 0;
  #pending = new Map<number, { resolve: (p: Float32Array) => void; reject: (e: Error) => void; slot: Slot }>();

  private constructor(
    private readonly perInput: number,
    private readonly classes: number,
  ) {}

  static async start(
    files: ModelFiles,
    backend: BackendName,
    size: number,
    inputShape: readonly number[],
    classes: number,
  ): Promise<InferencePool> {
    const pool = new InferencePool(
      inputShape.reduce((a, b) => a * b, 1),
      classes,
    );
    await Promise.all([...Array(size)].map(() => pool.#startWorker(files, backend)));
    return pool;
  }

  async #startWorker(files: ModelFiles, backend: BackendName): Promise<void> {
    const worker = new Worker(workerFile(__dirname, 'inference-worker.js'));
    const slot: Slot = { worker, busy: false };
    await new Promise<void>((resolve, reject) => {
      worker.once('message', (m: FromInference) =>
        m.type === 'ready'
          ? resolve()
          : reject(new MldbError(`an inference worker failed: ${'message' in m ? m.message : m.type}`, EXIT.INTERNAL)),
      );
      worker.once('error', reject);
      worker.postMessage({ type: 'init', files, backend } satisfies ToInference);
    });
    worker.on('message', (m: FromInference) => {
      if (m.type === 'ready' || m.seq === undefined) return;
      const p = this.#pending.get(m.seq);
      if (!p) return;
      this.#pending.delete(m.seq);
      p.slot.busy = false;
      if (m.type === 'probs') p.resolve(m.probs);
      else p.reject(new MldbError(`inference failed: ${m.message}`, EXIT.INTERNAL));
    });
    this.#slots.push(slot);
  }

  /** Workers free to take a batch now. */
  get idle(): number {
    return this.#slots.filter((s) => !s.busy).length;
  }

  get size(): number {
    return this.#slots.length;
  }

  /** One batch on an idle worker: a probability row per input, in order. */
  run(inputs: readonly Float32Array[]): Promise<Float32Array[]> {
    const slot = this.#slots.find((s) => !s.busy);
    if (!slot) return Promise.reject(new MldbError('no idle inference worker', EXIT.INTERNAL));
    slot.busy = true;
    const seq = ++this.#seq;
    const xs = new Float32Array(inputs.length * this.perInput);
    inputs.forEach((x, i) => xs.set(x, i * this.perInput));
    return new Promise<Float32Array>((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject, slot });
      slot.worker.postMessage({ type: 'predict', seq, xs, n: inputs.length } satisfies ToInference, [xs.buffer]);
    }).then((probs) => inputs.map((_, i) => probs.subarray(i * this.classes, (i + 1) * this.classes)));
  }

  async close(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
    this.#slots = [];
  }
}
