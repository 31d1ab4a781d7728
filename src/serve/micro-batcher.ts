/**
 * Collects inputs that arrive close together into one model call. A forward pass over 16 images
 * costs far less than 16 passes over one, so under load this multiplies throughput; alone, a
 * request waits for nothing but the current tick (or `windowMs`). Batches go out only while a
 * model copy is idle: while all are busy, arrivals pile up into the next, larger batch, so the
 * batch size follows the load. Written here because it is a few lines tied to how mldb runs its
 * models; no library does exactly this.
 */
export interface MicroBatcherOptions {
  /** Most inputs per model call. */
  maxBatch: number;
  /** How long the first input of a batch waits for company, in ms (0: until the current tick ends). */
  windowMs: number;
  /** Model calls that could start now (idle model copies); default: always one. */
  idle?: () => number;
  /** Called with each batch's size and its model time, for metrics. */
  onBatch?: (size: number, seconds: number) => void;
}

interface Pending<I, O> {
  input: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

export class MicroBatcher<I, O> {
  #queue: Pending<I, O>[] = [];
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;

  constructor(
    private readonly run: (inputs: I[]) => O[] | Promise<O[]>,
    private readonly opts: MicroBatcherOptions,
  ) {}

  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      this.#schedule();
    });
  }

  /** Inputs waiting for a model call. */
  get waiting(): number {
    return this.#queue.length;
  }

  #idle(): number {
    return this.opts.idle ? this.opts.idle() : 1;
  }

  #schedule(): void {
    if (this.#queue.length === 0 || this.#idle() === 0) return; // a finishing batch schedules again
    if (this.#queue.length >= this.opts.maxBatch) return this.#dispatch();
    if (this.#timer) return;
    this.#timer =
      this.opts.windowMs > 0
        ? setTimeout(() => this.#dispatch(), this.opts.windowMs)
        : setImmediate(() => this.#dispatch());
  }

  #dispatch(): void {
    if (this.#timer) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
      this.#timer = undefined;
    }
    while (this.#queue.length > 0 && this.#idle() > 0) {
      const batch = this.#queue.splice(0, this.opts.maxBatch);
      const started = process.hrtime.bigint();
      let outputs: O[] | Promise<O[]>;
      try {
        outputs = this.run(batch.map((p) => p.input));
      } catch (err) {
        for (const p of batch) p.reject(err);
        continue;
      }
      const settle = (out: O[]) => {
        this.opts.onBatch?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
        batch.forEach((p, i) => p.resolve(out[i]));
      };
      if (Array.isArray(outputs)) settle(outputs);
      else {
        void outputs
          .then(settle, (err: unknown) => batch.forEach((p) => p.reject(err)))
          .finally(() => this.#schedule());
      }
    }
  }
}
