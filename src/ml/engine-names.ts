/** What may run a saved model's forward pass (inference-engine.ts); here without loading it. */
export const ENGINES = ['auto', 'onnxruntime', 'tfjs'] as const;
export type EngineChoice = (typeof ENGINES)[number];
