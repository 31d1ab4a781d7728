/**
 * Collects inputs that arrive close together into one model call. A forward pass over 32 images
 * costs little more than over one, so under concurrency this multiplies throughput; alone, a
 * request waits at most `windowMs`. Written here because the logic is a dozen lines tied to how
 * the model runs (synchronously, on this thread); no library does exactly this.
 */
export interface MicroBatcherOptions {
  /** Most inputs per model call. */
  maxBatch: number;
  /** How long the first input of a batch waits for company, in ms (0: until the current tick ends). */
  windowMs: number;
  /** Called with each batch's size, for metrics. */
  onBatch?: (size: number, seconds: number) => void;
}

interface Pending<I, O> {
  input: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

export class MicroBatcher<I, O> {
  #queue: Pending<I, O>[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly run: (inputs: I[]) => O[],
    private readonly opts: MicroBatcherOptions,
  ) {}

  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      if (this.#queue.length >= this.opts.maxBatch) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.opts.windowMs);
    });
  }

  /** Inputs waiting for the next model call. */
  get waiting(): number {
    return this.#queue.length;
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.opts.maxBatch);
      const started = process.hrtime.bigint();
      let outputs: O[];
      try {
        outputs = this.run(batch.map((p) => p.input));
      } catch (err) {
        for (const p of batch) p.reject(err);
        continue;
      }
      this.opts.onBatch?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
      batch.forEach((p, i) => p.resolve(outputs[i]));
    }
  }
}
