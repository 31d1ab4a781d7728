/**
 * The part of onnxruntime-node mldb uses, and the one place that loads it. It is an optional
 * dependency (its CPU kernels ship inside the npm package), so nothing imports it at compile time:
 * where it does not load, inference falls back to TensorFlow.js and training to a tfjs backend.
 */

export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}

export interface OrtSessionOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** 0 verbose … 3 errors only, 4 fatal. */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  optimizedModelFilePath?: string;
  enableProfiling?: boolean;
  profileFilePrefix?: string;
  /** Session configuration entries, e.g. { session: { 'intra_op.allow_spinning': '0' } }. */
  extra?: Record<string, Record<string, string>>;
}

export interface OrtSession {
  run(feeds: Record<string, OrtTensor>, fetches?: Record<string, OrtTensor | null>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
  endProfiling(): void;
}

export interface Ort {
  InferenceSession: { create(model: Uint8Array, options?: OrtSessionOptions): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  env: { versions: { node?: string; common?: string } };
}

/**
 * How to install it: its install script only downloads CUDA providers (on Linux x64), and where
 * that download fails npm drops the whole package; the CPU kernels need no script.
 */
export const ONNXRUNTIME_INSTALL = 'ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.23.0';

let loaded: { ort: Ort } | { unavailable: string } | undefined;

/** onnxruntime-node when it is installed and loads here; why not otherwise. */
export function loadOnnxRuntime(): { ort: Ort } | { unavailable: string } {
  if (loaded) return loaded;
  try {
    loaded = { ort: require('onnxruntime-node') as Ort };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    loaded = {
      unavailable:
        code === 'MODULE_NOT_FOUND'
          ? 'onnxruntime-node is not installed'
          : `onnxruntime-node did not load: ${(e as Error).message.split('\n')[0]}`,
    };
  }
  return loaded;
}

export function onnxRuntimeVersion(ort: Ort): string {
  return ort.env.versions.node ?? ort.env.versions.common ?? '';
}
