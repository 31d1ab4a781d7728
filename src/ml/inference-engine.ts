import os from 'node:os';
import { UsageError } from '../errors';
import type { EngineChoice } from './engine-names';
import type { SavedModel } from './artifacts';
import { loadOnnxRuntime, ONNXRUNTIME_INSTALL, onnxRuntimeVersion, type Ort } from './onnxruntime';
import { tf } from './tf';

/**
 * What runs a saved model's forward pass for evaluate, predict and serve: onnxruntime when the
 * optional onnxruntime-node package is installed (native CPU kernels on every core: the model is
 * converted to ONNX in memory at load, see onnx/export.ts), else TensorFlow.js on the selected
 * backend. Every caller says which engine ran.
 */
export interface ModelEngine {
  /** "onnxruntime 1.23.0 (cpu, 2 threads)" or "tfjs (wasm)". */
  readonly name: string;
  /** Probabilities, n × classes, for n preprocessed images (N × H × W × C floats). */
  run(xs: Float32Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export { ENGINES, type EngineChoice } from './engine-names';

export { loadOnnxRuntime } from './onnxruntime';

/** TensorFlow.js on the backend already selected. */
export function tfjsEngine(model: tf.LayersModel): ModelEngine {
  const [h, w, c] = model.inputs[0].shape.slice(1) as number[];
  return {
    name: `tfjs (${tf.getBackend()})`,
    run: async (xs, n) =>
      tf.tidy(() => (model.predict(tf.tensor4d(xs, [n, h, w, c])) as tf.Tensor).dataSync() as Float32Array),
    dispose: async () => undefined,
  };
}

/** An onnxruntime session over the saved model, converted to ONNX in memory. */
export async function onnxEngine(
  ort: Ort,
  saved: SavedModel,
  threads = os.availableParallelism(),
): Promise<ModelEngine> {
  // Loaded here: the tfjs path need not load the protobuf library.
  const { onnxBytes } = require('./onnx-file') as typeof import('./onnx-file');
  return onnxSessionEngine(ort, onnxBytes(saved), saved.metadata.inputShape, threads);
}

/** An onnxruntime session over a model in memory (the test pass after training on onnxruntime). */
export async function onnxModelEngine(
  ort: Ort,
  model: tf.LayersModel,
  threads = os.availableParallelism(),
): Promise<ModelEngine> {
  const { toOnnx } = require('./onnx/export') as typeof import('./onnx/export');
  return onnxSessionEngine(ort, toOnnx(model), model.inputs[0].shape.slice(1) as number[], threads);
}

async function onnxSessionEngine(ort: Ort, bytes: Uint8Array, shape: number[], threads: number): Promise<ModelEngine> {
  const { ONNX_INPUT, ONNX_OUTPUT } = require('./onnx/export') as typeof import('./onnx/export');
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads });
  return {
    name: `onnxruntime ${onnxRuntimeVersion(ort)} (cpu, ${threads} thread${threads > 1 ? 's' : ''})`,
    async run(xs, n) {
      const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', xs, [n, ...shape]) });
      return out[ONNX_OUTPUT].data as Float32Array;
    },
    dispose: () => session.release(),
  };
}

/**
 * The engine for `choice`: "auto" takes onnxruntime when it loads and converts the model, else
 * TensorFlow.js, saying why in `fallback`; "onnxruntime" fails instead of falling back.
 */
export interface OpenedEngine {
  engine: ModelEngine;
  /** Why "auto" did not take onnxruntime. */
  fallback?: string;
}

export async function openEngine(saved: SavedModel, choice: EngineChoice = 'auto'): Promise<OpenedEngine> {
  if (choice === 'tfjs') return { engine: tfjsEngine(saved.model) };
  const loaded = loadOnnxRuntime();
  if ('unavailable' in loaded) {
    if (choice === 'onnxruntime')
      throw new UsageError(
        `--engine onnxruntime: ${loaded.unavailable}`,
        `install it (${ONNXRUNTIME_INSTALL}), or use --engine auto`,
      );
    return { engine: tfjsEngine(saved.model), fallback: loaded.unavailable };
  }
  try {
    return { engine: await onnxEngine(loaded.ort, saved) };
  } catch (e) {
    if (choice === 'onnxruntime') throw e;
    return { engine: tfjsEngine(saved.model), fallback: `onnxruntime could not run it: ${(e as Error).message}` };
  }
}
