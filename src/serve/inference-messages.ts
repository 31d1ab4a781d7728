import type { ModelFiles } from '../db/models';
import type { BackendName } from '../ml/backend-names';

/** Main thread → inference worker. */
export type ToInference =
  | { type: 'init'; files: ModelFiles; backend: BackendName }
  | { type: 'predict'; seq: number; xs: Float32Array; n: number }
  | { type: 'close' };

/** Inference worker → main thread. */
export type FromInference =
  | { type: 'ready' }
  | { type: 'probs'; seq: number; probs: Float32Array }
  | { type: 'error'; seq?: number; message: string };
