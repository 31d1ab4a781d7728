import os from 'node:os';
import { missing, ok, PACKAGES, warn, type Check } from './check';

/**
 * The engines that load here, in the order `train --backend auto` and `--engine auto` try them.
 * Loaded lazily: TensorFlow.js is only imported when the doctor runs.
 */
export async function engineChecks(): Promise<Check[]> {
  const { loadOnnxRuntime, ONNXRUNTIME_INSTALL, onnxRuntimeVersion } = await import('../ml/onnxruntime.js');
  const { probeTensorflow, probeBackend, TFJS_NODE_INSTALL } = await import('../ml/backend.js');
  const { loadOneDnn } = await import('../ml/onednn/binding.js');
  const cores = os.availableParallelism();
  const ort = loadOnnxRuntime();
  const onednn = loadOneDnn();
  const tensorflow = probeTensorflow();
  const wasm = await probeBackend('wasm');
  const ortCheck =
    'ort' in ort
      ? ok('onnxruntime', 'onnxruntime', `${onnxRuntimeVersion(ort.ort)}: native kernels on ${cores} cores`)
      : warn('onnxruntime', 'onnxruntime', ort.unavailable, ONNXRUNTIME_INSTALL);
  // Missing, not a warning: the tests hold it to tfjs; `train --backend onednn` asks for it by name.
  const onednnCheck =
    'binding' in onednn
      ? ok(
          'onednn',
          'oneDNN (mldb’s addon)',
          `${onednn.binding.version}: native kernels on ${cores} cores (--backend onednn)`,
        )
      : missing(
          'onednn',
          'oneDNN (mldb’s addon)',
          `${onednn.unavailable} (optional: --backend onednn)`,
          PACKAGES.onednn,
        );
  const tensorflowCheck = tensorflow.loaded
    ? ok('tensorflow', 'TensorFlow (tfjs-node)', 'loads')
    : warn('tensorflow', 'TensorFlow (tfjs-node)', `${tensorflow.reason} (optional)`, TFJS_NODE_INSTALL);
  const wasmCheck = wasm
    ? ok('wasm', 'tfjs wasm', 'loads (XNNPACK, 128-bit SIMD)')
    : missing('wasm', 'tfjs wasm', 'did not initialise', 'reinstall @tensorflow/tfjs-backend-wasm');
  const fallback = 'ort' in ort ? 'onnxruntime' : tensorflow.loaded ? 'tensorflow' : wasm ? 'wasm' : 'cpu';
  const training = 'binding' in onednn ? `onednn for the networks it runs, else ${fallback}` : fallback;
  return [
    ok('training-engine', 'training engine', `${training} (what train --backend auto picks)`),
    ok('inference-engine', 'inference engine', `${'ort' in ort ? 'onnxruntime' : 'tfjs'} (what --engine auto picks)`),
    ortCheck,
    onednnCheck,
    tensorflowCheck,
    wasmCheck,
  ];
}
