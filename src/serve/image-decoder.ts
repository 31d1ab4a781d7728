import { Semaphore } from 'async-mutex';
import { Piscina } from 'piscina';
import type { ImageShape } from '../image-shape';
import { DecodeError, headerDimensions, TooManyPixelsError } from '../images/decode';
import { sniffFormat } from '../images/formats';
import { imageToModelInput } from '../samples/model-input';
import { workerFile } from '../worker-file';
import type { DecodeOutcome, DecodeTask } from './decode-worker';

/**
 * Below this many declared pixels an image decodes on the calling thread: a 256×256 PNG takes
 * about a millisecond in pure JS, less than the hop to a thread and back. The service's common
 * case (images the size of the model's input) never leaves the thread.
 */
export const INLINE_PIXELS = 256 * 256;

/** How many budgets' worth of declared pixels may wait before new requests are turned away. */
const WAITING_BUDGETS = 4;

/**
 * Decodes a service's images within a budget of pixels in flight. Large images go to a decode
 * thread, so that requests of ordinary images are answered while a large one decodes; each one
 * first reserves the pixels its header declares (an image whose header cannot be read reserves
 * the whole per-image allowance), so that memory is bounded by the budget whatever the requests
 * hold, not by how many huge images they carry.
 */
export class ImageDecoder {
  readonly #budget: Semaphore;
  #pool: Piscina<DecodeTask, DecodeOutcome> | undefined;
  #waitingPixels = 0;

  constructor(
    private readonly shape: ImageShape,
    /** Told the pixels waiting whenever that changes (a metric). */
    private readonly onWaiting: (pixels: number) => void,
    /** Most pixels one image may declare (--max-megapixels), and so most decoding at once. */
    readonly maxPixels: number,
  ) {
    this.#budget = new Semaphore(maxPixels);
  }

  /** Declared pixels waiting for the budget. */
  get waitingPixels(): number {
    return this.#waitingPixels;
  }

  /**
   * Whether to turn away a request of these images: so much already waits for the budget that it
   * would only wait longer, holding its bytes meanwhile. Requests of small images are never
   * turned away: they do not need the budget.
   */
  overloadedFor(images: readonly Uint8Array[]): boolean {
    return (
      this.#waitingPixels > WAITING_BUDGETS * this.maxPixels && images.some((b) => this.#declared(b) > INLINE_PIXELS)
    );
  }

  /** Pixels the header declares; the whole allowance when it cannot be read; 0 for what is no image. */
  #declared(bytes: Uint8Array): number {
    if (!sniffFormat(bytes)) return 0;
    const dims = headerDimensions(bytes);
    return dims ? dims.width * dims.height : this.maxPixels;
  }

  /** The model input for one image; throws DecodeError (TooManyPixelsError for a bomb) for this image. */
  async toModelInput(bytes: Uint8Array): Promise<Float32Array> {
    const declared = this.#declared(bytes);
    // Small images, and bombs (refused from the header at once by the decoder), stay on this thread.
    if (declared <= INLINE_PIXELS || declared > this.maxPixels)
      return imageToModelInput(bytes, this.shape, this.maxPixels);
    return this.#offThread(bytes, declared);
  }

  async #offThread(bytes: Uint8Array, pixels: number): Promise<Float32Array> {
    this.#waitingPixels += pixels;
    this.onWaiting(this.#waitingPixels);
    let release: () => void;
    try {
      [, release] = await this.#budget.acquire(pixels);
    } finally {
      this.#waitingPixels -= pixels;
      this.onWaiting(this.#waitingPixels);
    }
    try {
      // A copy of just this image's bytes, moved: a Buffer may be a view of a larger one.
      const own = Uint8Array.from(bytes);
      const outcome = await this.#threads().run(
        { bytes: own, shape: this.shape, maxPixels: this.maxPixels },
        { transferList: [own.buffer] },
      );
      if (outcome instanceof Float32Array) return outcome;
      if (outcome.kind === 'too_many_pixels') throw new TooManyPixelsError(outcome.message);
      if (outcome.kind === 'undecodable') throw new DecodeError(outcome.message);
      throw new Error(outcome.message);
    } finally {
      release();
    }
  }

  #threads(): Piscina<DecodeTask, DecodeOutcome> {
    // One thread: the other core serves requests and the model; started on the first large image.
    this.#pool ??= new Piscina({
      filename: workerFile(__dirname, 'decode-worker.js'),
      minThreads: 0,
      maxThreads: 1,
      idleTimeout: 30_000,
    });
    return this.#pool;
  }

  async close(): Promise<void> {
    await this.#pool?.destroy();
    this.#pool = undefined;
  }
}
