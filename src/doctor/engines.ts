import os from 'node:os';
import { missing, ok, warn, type Check } from './check';

/**
 * The engines that load here, in the order `train --backend auto` and `--engine auto` try them.
 * Loaded lazily: TensorFlow.js is only imported when the doctor runs.
 */
export async function engineChecks(): Promise<Check[]> {
  const { loadOnnxRuntime, ONNXRUNTIME_INSTALL, onnxRuntimeVersion } = await import('../ml/onnxruntime.js');
  const { probeTensorflow, probeBackend, TFJS_NODE_INSTALL } = await import('../ml/backend.js');
  const cores = os.availableParallelism();
  const ort = loadOnnxRuntime();
  const tensorflow = probeTensorflow();
  const wasm = await probeBackend('wasm');
  const ortCheck =
    'ort' in ort
      ? ok('onnxruntime', 'onnxruntime', `${onnxRuntimeVersion(ort.ort)}: native kernels on ${cores} cores`)
      : warn('onnxruntime', 'onnxruntime', ort.unavailable, ONNXRUNTIME_INSTALL);
  const tensorflowCheck = tensorflow.loaded
    ? ok('tensorflow', 'TensorFlow (tfjs-node)', 'loads')
    : warn('tensorflow', 'TensorFlow (tfjs-node)', `${tensorflow.reason} (optional)`, TFJS_NODE_INSTALL);
  const wasmCheck = wasm
    ? ok('wasm', 'tfjs wasm', 'loads (XNNPACK, 128-bit SIMD)')
    : missing('wasm', 'tfjs wasm', 'did not initialise', 'reinstall @tensorflow/tfjs-backend-wasm');
  const training = 'ort' in ort ? 'onnxruntime' : tensorflow.loaded ? 'tensorflow' : wasm ? 'wasm' : 'cpu';
  return [
    ok('training-engine', 'training engine', `${training} (what train --backend auto picks)`),
    ok('inference-engine', 'inference engine', `${'ort' in ort ? 'onnxruntime' : 'tfjs'} (what --engine auto picks)`),
    ortCheck,
    tensorflowCheck,
    wasmCheck,
  ];
}
