import fs from 'node:fs';
import path from 'node:path';
import { InvalidDataError, UsageError } from '../errors';
import { checkWritableFolderPath, fromFileSystemError } from '../file-targets';
import type { SavedModel } from './artifacts';
import { ONNX_INPUT, toOnnx } from './onnx/export';
import { UnsupportedLayerError } from './onnx/layer-op';

/** Where `mldb models export --out` may write: a new file in a folder one can write to. */
export function checkOnnxTarget(out: string): string {
  const target = path.resolve(out);
  checkWritableFolderPath('--out', out, path.dirname(target));
  if (fs.existsSync(target)) throw new UsageError(`--out "${out}" already exists`, 'choose another file, or remove it');
  return target;
}

/** The ONNX bytes of a saved model, its labels and preprocessing in the file's metadata. */
export function onnxBytes(saved: SavedModel): Uint8Array {
  try {
    return toOnnx(saved.model, {
      labels: JSON.stringify(saved.metadata.labels),
      preprocessing: JSON.stringify(saved.metadata.preprocessing),
      architecture: saved.metadata.architecture,
      input: `${ONNX_INPUT}: float32 [N, ${saved.metadata.inputShape.join(', ')}] (NHWC, scaled as preprocessing says)`,
    });
  } catch (e) {
    if (e instanceof UnsupportedLayerError)
      throw new InvalidDataError(`${saved.dir}: ${e.message}`, 'export a model of a registry architecture');
    throw e;
  }
}

/** Writes the ONNX file beside `target` and renames it into place: never half-written. */
export function writeOnnxFile(saved: SavedModel, target: string): { file: string; bytes: number } {
  const bytes = onnxBytes(saved);
  const partial = `${target}.partial-${process.pid}`;
  try {
    fs.writeFileSync(partial, bytes);
    fs.renameSync(partial, target);
  } catch (e) {
    fs.rmSync(partial, { force: true });
    throw fromFileSystemError(e) ?? e;
  }
  return { file: target, bytes: bytes.length };
}
