/**
 * The tfjs backends `--backend` accepts for inference; a module of its own so the CLI can list them
 * without loading TensorFlow.
 */
export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];
export type BackendName = Exclude<BackendChoice, 'auto'>;

/** What `mldb train --backend` accepts: onnxruntime, mldb's oneDNN addon, or one of tfjs' backends. */
export const TRAINING_BACKENDS = ['auto', 'onnxruntime', 'onednn', 'tensorflow', 'wasm', 'cpu'] as const;
export type TrainingBackendChoice = (typeof TRAINING_BACKENDS)[number];
export type TrainingBackendName = Exclude<TrainingBackendChoice, 'auto'>;
