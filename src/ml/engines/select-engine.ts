import type { OnnxEngineSettings } from '../../config';
import os from 'node:os';
import { UsageError } from '../../errors';
import { selectBackend } from '../backend';
import type { TrainingBackendChoice, TrainingBackendName } from '../backend-names';
import { loadOneDnn, ONEDNN_INSTALL, type OneDnnBinding } from '../onednn/binding';
import { planNetwork } from '../onednn/plan';
import { loadOnnxRuntime, ONNXRUNTIME_INSTALL, onnxRuntimeVersion, type Ort } from '../onnxruntime';
import type { OptimizerName } from '../optimizer-names';
import type { tf } from '../tf';
import { autoWorkers } from '../training-options';
import { oneDnnStepEngine } from './onednn-step-engine';
import { onnxStepEngine } from './onnx-step-engine';
import type { StepEngine } from './step-engine';
import { tfjsStepEngine } from './tfjs-step-engine';

/**
 * Which engine trains. `auto` takes onnxruntime where it loads (native kernels, installed by npm
 * everywhere, with no install script), then native TensorFlow (@tensorflow/tfjs-node, whose
 * install script npm 11 blocks and whose download fails offline), then wasm, then cpu; an explicit
 * choice that cannot load is an error, not a silent downgrade. On onnxruntime, tfjs (its cpu
 * backend) only holds the model: it is built, saved and exported as a tfjs layers model.
 * `onednn` is mldb's own addon (native/onednn, built where oneDNN's headers are installed): the
 * networks it runs with Adam, asked for by name or taken by `auto` (preferOneDnn).
 */
export interface TrainingBackend {
  name: TrainingBackendName;
  /** Why this one, for the line the CLI prints. */
  reason: string;
  ort?: Ort;
  onednn?: OneDnnBinding;
}

const coresLine = () => {
  const cores = os.availableParallelism();
  return `native kernels on ${cores} core${cores > 1 ? 's' : ''}`;
};

export async function selectTrainingBackend(choice: TrainingBackendChoice = 'auto'): Promise<TrainingBackend> {
  if (choice === 'onednn') {
    const loaded = loadOneDnn();
    if ('unavailable' in loaded)
      throw new UsageError(
        `--backend onednn: ${loaded.unavailable}`,
        `${ONEDNN_INSTALL}, or use --backend onnxruntime`,
      );
    await selectBackend('cpu');
    return {
      name: 'onednn',
      reason: `oneDNN ${loaded.binding.version} through mldb’s addon, ${coresLine()}, requested`,
      onednn: loaded.binding,
    };
  }
  if (choice === 'onnxruntime' || choice === 'auto') {
    const loaded = loadOnnxRuntime();
    if ('ort' in loaded) {
      await selectBackend('cpu');
      return {
        name: 'onnxruntime',
        reason:
          `onnxruntime ${onnxRuntimeVersion(loaded.ort)}, ${coresLine()}` + (choice === 'auto' ? '' : ', requested'),
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

/**
 * What `auto` trains a network on once the network is known: mldb's oneDNN addon where it loads
 * and runs this network with this optimizer (1.5–2.9× onnxruntime's steps; docs/training-engines.md),
 * else the choice already made. A run that freezes layers stays where it was: the addon trains
 * every layer it holds.
 */
export function preferOneDnn(
  chosen: TrainingBackend,
  choice: TrainingBackendChoice,
  model: tf.LayersModel,
  o: { optimizer: OptimizerName; freezes: boolean },
): TrainingBackend {
  if (choice !== 'auto' || o.optimizer !== 'adam' || o.freezes) return chosen;
  const loaded = loadOneDnn();
  if (!('binding' in loaded) || 'unsupported' in planNetwork(model)) return chosen;
  return {
    name: 'onednn',
    reason: `oneDNN ${loaded.binding.version} through mldb’s addon, ${coresLine()} (it runs this network)`,
    onednn: loaded.binding,
  };
}

/** --workers for the chosen backend: "auto" as autoWorkers says; more than one only for tfjs replicas. */
export function resolveWorkers(given: number | 'auto' | undefined, backend: TrainingBackendName): number {
  if (given === undefined || given === 'auto') return autoWorkers(backend);
  if (given > 1 && (backend === 'onnxruntime' || backend === 'onednn'))
    throw new UsageError(
      `--workers ${given} splits batches over tfjs replicas; ${backend} trains on every core in one step`,
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
  if (backend.name === 'onednn') return Promise.resolve(openOneDnn(backend.onednn!, model, o));
  if (backend.name === 'onnxruntime')
    return onnxStepEngine(backend.ort!, model, { ...o, spinning: o.onnx?.spinning, blocked: o.onnx?.blocked });
  return tfjsStepEngine(model, { ...o, backend: backend.name });
}

/** The oneDNN engine for a model and optimizer it runs; a usage error naming what it cannot run otherwise. */
function openOneDnn(binding: OneDnnBinding, model: tf.LayersModel, o: EngineOptions): StepEngine {
  if (o.optimizer !== 'adam')
    throw new UsageError(
      `--backend onednn trains with adam, not ${o.optimizer}`,
      'use --optimizer adam, or --backend onnxruntime for the others',
      { field: 'optimizer' },
    );
  const plan = planNetwork(model);
  if ('unsupported' in plan)
    throw new UsageError(
      `--backend onednn cannot train this model: ${plan.unsupported}`,
      'train it with --backend onnxruntime (every registry architecture)',
      { field: 'backend' },
    );
  return oneDnnStepEngine(binding, plan, {
    learningRate: o.learningRate,
    softTargets: o.softTargets,
    cycleMomentum: o.cycleMomentum,
  });
}
