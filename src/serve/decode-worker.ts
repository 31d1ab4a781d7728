/**
 * The service's decode thread: image bytes → a model input, off the thread that answers
 * requests. A failure comes back as a value, so that the main thread can tell a pixel bomb from a
 * corrupt file (error classes do not cross threads).
 */
import { move } from 'piscina';
import type { ImageShape } from '../image-shape';
import { DecodeError, TooManyPixelsError } from '../images/decode';
import { imageToModelInput } from '../samples/model-input';

export interface DecodeTask {
  bytes: Uint8Array;
  shape: ImageShape;
  maxPixels: number;
}

export interface DecodeFailure {
  message: string;
  kind: 'too_many_pixels' | 'undecodable' | 'other';
}

/** The model input (moved, not copied, to the caller), or why there is none. */
export type DecodeOutcome = Float32Array | DecodeFailure;

export default async function decode(task: DecodeTask): Promise<DecodeOutcome> {
  try {
    // move() only transfers a value returned as is, not one nested in an object.
    return move(await imageToModelInput(task.bytes, task.shape, task.maxPixels)) as Float32Array;
  } catch (e) {
    const kind =
      e instanceof TooManyPixelsError ? 'too_many_pixels' : e instanceof DecodeError ? 'undecodable' : 'other';
    return { message: (e as Error).message, kind };
  }
}
