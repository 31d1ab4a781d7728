/**
 * A thread of the import's pool (prepare-pool.ts): reads and hashes files, or decodes images to
 * the dataset's shape, a group of items per task so that messages are few.
 */
import type { ImageShape } from '../image-shape';
import { decodeAndShape, readAndHash, type ReadOutcome, type ShapedOutcome } from './prepare-image';

export type PrepareTask =
  | { kind: 'read'; paths: string[]; maxBytes: number }
  | { kind: 'shape'; images: Uint8Array[]; shape: ImageShape; maxPixels?: number };

export default async function prepare(task: PrepareTask): Promise<ReadOutcome[] | ShapedOutcome[]> {
  if (task.kind === 'read') return task.paths.map((path) => readAndHash({ path }, task.maxBytes));
  const out: ShapedOutcome[] = [];
  for (const image of task.images) out.push(await decodeAndShape(image, task.shape, task.maxPixels));
  return out;
}
