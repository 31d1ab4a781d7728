import type { OnnxEngineSettings } from '../../config';
import os from 'node:os';
import { UsageError } from '../../errors';
import { selectBackend } from '../backend';
import type { TrainingBackendChoice, TrainingBackendName } from '../backend-names';
import { loadOnnxRuntime, ONNXRUNTIME_INSTALL, onnxRuntimeVersion, type Ort } from '../onnxruntime';
import type { OptimizerName } from '../optimizer-names';
import type { tf } from '../tf';
import { autoWorkers } from '../training-options';
import { onnxStepEngine } from './onnx-step-engine';
import type { StepEngine } from './step-engine';
import { tfjsStepEngine } from './tfjs-step-engine';

/**
 * Which engine trains. `auto` takes onnxruntime where it loads (native kernels, installed by npm
 * everywhere, with no install script), then native TensorFlow (@tensorflow/tfjs-node, whose
 * install script npm 11 blocks and whose download fails offline), then wasm, then cpu; an explicit
 * choice that cannot load is an error, not a silent downgrade. On onnxruntime, tfjs (its cpu
 * backend) only holds the model: it is built, saved and exported as a tfjs layers model.
 */
export interface TrainingBackend {
  name: TrainingBackendName;
  /** Why this one, for the line the CLI prints. */
  reason: string;
  ort?: Ort;
}

export async function selectTrainingBackend(choice: TrainingBackendChoice = 'auto'): Promise<TrainingBackend> {
  if (choice === 'onnxruntime' || choice === 'auto') {
    const loaded = loadOnnxRuntime();
    if ('ort' in loaded) {
      await selectBackend('cpu');
      const cores = os.availableParallelism();
      return {
        name: 'onnxruntime',
        reason:
          `onnxruntime ${onnxRuntimeVersion(loaded.ort)}, native kernels on ${cores} core${cores > 1 ? 's' : ''}` +
          (choice === 'auto' ? '' : ', requested'),
        ort: loaded.ort,
      };
    }
    if (choice === 'onnxruntime')
      throw new UsageError(
        `--backend onnxruntime: ${loaded.unavailable}`,
        `install it (${ONNXRUNTIME_INSTALL}), or use --backend wasm`,
      );
    const tfjs = await selectBackend('auto');
    return { name: tfjs.name, reason: `${loaded.unavailable}; ${tfjs.reason}` };
  }
  const tfjs = await selectBackend(choice);
  return { name: tfjs.name, reason: tfjs.reason };
}

/** --workers for the chosen backend: "auto" as autoWorkers says; more than one only for tfjs replicas. */
export function resolveWorkers(given: number | 'auto' | undefined, backend: TrainingBackendName): number {
  if (given === undefined || given === 'auto') return autoWorkers(backend);
  if (given > 1 && backend === 'onnxruntime')
    throw new UsageError(
      `--workers ${given} splits batches over tfjs replicas; onnxruntime trains on every core in one session`,
      'drop --workers, or train with --backend wasm',
      { field: 'workers' },
    );
  return given;
}

export interface EngineOptions {
  architecture: string;
  seed: number;
  optimizer: OptimizerName;
  learningRate: number;
  /** AdamW's decoupled decay (the other optimizers have none). */
  weightDecay?: number;
  /** Targets other than one-hot rows (label smoothing, class weights): see OnnxEngineOptions. */
  softTargets?: boolean;
  /** Momentum set each step (onecycle): see OnnxEngineOptions. */
  cycleMomentum?: boolean;
  workers: number;
  /** The batch size most steps take (onnxruntime builds its step for it). */
  batchSize?: number;
  /** onnxruntime's switches (MLDB_ONNX_NCHWC, MLDB_ONNX_SPINNING, read by config.ts). */
  onnx?: OnnxEngineSettings;
}

export function openStepEngine(model: tf.LayersModel, backend: TrainingBackend, o: EngineOptions): Promise<StepEngine> {
  if (backend.name === 'onnxruntime')
    return onnxStepEngine(backend.ort!, model, { ...o, spinning: o.onnx?.spinning, blocked: o.onnx?.blocked });
  return tfjsStepEngine(model, { ...o, backend: backend.name });
}
