import fs from 'node:fs';
import { imageToModelInput } from '../samples/model-input';
import { modelImageShape, type SavedModel } from './artifacts';
import { tfjsEngine, type ModelEngine } from './inference-engine';

export interface Prediction {
  file: string;
  label: string;
  confidence: number;
  /** The k most probable labels, most probable first. */
  top: Array<{ label: string; probability: number }>;
}

export interface PredictionFailure {
  file: string;
  error: string;
}

/** An image file → the model's input, exactly as training saw it: resized, gray or RGB, scaled. */
export function preprocess(bytes: Uint8Array, saved: SavedModel, maxPixels?: number): Promise<Float32Array> {
  return imageToModelInput(bytes, modelImageShape(saved.metadata), maxPixels);
}

/** The top `k` (label, probability) pairs of one probability row. */
export function topK(
  probs: ArrayLike<number>,
  labels: string[],
  k: number,
): Array<{ label: string; probability: number }> {
  return Array.from(probs, (p, i) => ({ label: labels[i], probability: p }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, Math.max(1, Math.min(k, labels.length)));
}

/**
 * One forward pass over preprocessed inputs (each H × W × C floats) on `engine`: a probability row
 * of `classes` per input, in order.
 */
export async function classifyInputs(
  engine: ModelEngine,
  inputs: readonly Float32Array[],
  classes: number,
): Promise<Float32Array[]> {
  const per = inputs[0]?.length ?? 0;
  const batch = new Float32Array(inputs.length * per);
  inputs.forEach((x, i) => batch.set(x, i * per));
  const probs = await engine.run(batch, inputs.length);
  return inputs.map((_, i) => probs.slice(i * classes, (i + 1) * classes));
}

/** The label, its probability and the top k of one probability row. */
export function ranked(probs: ArrayLike<number>, labels: string[], k: number): Omit<Prediction, 'file'> {
  const top = topK(probs, labels, k);
  return { label: top[0].label, confidence: top[0].probability, top };
}

/**
 * Classifies image files. Unreadable or undecodable files are reported one by one and do not
 * stop the others. Images are batched so that a thousand files cost a few forward passes.
 */
export async function predictFiles(
  saved: SavedModel,
  files: string[],
  { top = 3, batchSize = 256, engine }: { top?: number; batchSize?: number; engine?: ModelEngine } = {},
): Promise<{ predictions: Prediction[]; failures: PredictionFailure[] }> {
  const run = engine ?? tfjsEngine(saved.model);
  const { labels } = saved.metadata;
  const predictions: Prediction[] = [];
  const failures: PredictionFailure[] = [];
  for (let from = 0; from < files.length; from += batchSize) {
    const ready: Array<{ file: string; xs: Float32Array }> = [];
    for (const file of files.slice(from, from + batchSize)) {
      try {
        ready.push({ file, xs: await preprocess(fs.readFileSync(file), saved) });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const why =
          e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a folder' : e.code ? e.code : e.message;
        failures.push({ file, error: why });
      }
    }
    if (ready.length === 0) continue;
    const rows = await classifyInputs(
      run,
      ready.map((r) => r.xs),
      labels.length,
    );
    ready.forEach((r, i) => predictions.push({ file: r.file, ...ranked(rows[i], labels, top) }));
  }
  return { predictions, failures };
}
