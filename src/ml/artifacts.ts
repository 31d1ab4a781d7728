import fs from 'node:fs';
import path from 'node:path';
import { InvalidDataError, NotFoundError, UsageError } from '../errors';
import { tf } from './tf';

/** What mldb writes beside model.json: enough to evaluate, predict and reproduce. */
export interface ModelMetadata {
  format: 'mldb-model';
  formatVersion: 1;
  /** Labels in class-index order: output k of the model is labels[k]. */
  labels: string[];
  /** [height, width, channels] */
  inputShape: [number, number, number];
  /** How an image becomes the input tensor: decode, resize to the shape, gray/RGB, × scale. */
  preprocessing: { resize: 'fill'; channels: number; scale: number };
  dataset: { table: string; database: string; fingerprint: { rows: number; sha256: string } };
  architecture: string;
  hyperparameters: Record<string, unknown>;
  split: { train: number; validation: number; test: number };
  epochs: unknown[];
  metrics: Record<string, unknown>;
  backend: string;
  versions: { mldb: string; tfjs: string };
  createdAt: string;
  /** The run in mldb_runs that produced it. */
  runId?: number;
}

export const MODEL_FILES = ['model.json', 'weights.bin', 'metadata.json'];

/**
 * A model may replace a folder only if that folder is itself a saved model (or empty): `--save .`
 * must never delete the working directory. Checked before training and again before writing.
 */
export function checkSaveTarget(dir: string): void {
  const target = path.resolve(dir);
  if (!fs.existsSync(target)) return;
  if (!fs.statSync(target).isDirectory())
    throw new UsageError(`--save "${dir}" is a file`, 'choose a new folder for the model');
  const foreign = fs.readdirSync(target).filter((f) => !MODEL_FILES.includes(f));
  if (foreign.length > 0) {
    throw new UsageError(
      `--save "${dir}" already holds other files (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''})`,
      'choose a new folder: only a previous model folder is replaced',
    );
  }
}

/**
 * Saves a LayersModel as the standard tfjs files (model.json + weights.bin, loadable by stock
 * tf.loadLayersModel) plus metadata.json, without tfjs-node's file:// handler. Files are written
 * to a temporary folder and renamed into place, so a killed save leaves nothing half-written.
 */
export async function saveModel(
  model: tf.LayersModel,
  dir: string,
  metadata: ModelMetadata | Record<string, unknown>,
): Promise<string> {
  checkSaveTarget(dir);
  const target = path.resolve(dir);
  const tmp = `${target}.partial-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weights = Buffer.from(artifacts.weightData as ArrayBuffer);
        fs.writeFileSync(path.join(tmp, 'weights.bin'), weights);
        const modelJson = {
          modelTopology: artifacts.modelTopology,
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
          convertedBy: null,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        };
        fs.writeFileSync(path.join(tmp, 'model.json'), JSON.stringify(modelJson));
        return {
          modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.length },
        };
      }),
    );
    fs.writeFileSync(path.join(tmp, 'metadata.json'), JSON.stringify(metadata, null, 2) + '\n');
    fs.rmSync(target, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return target;
}

function readJson(file: string, what: string, dir: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new InvalidDataError(
      `model folder "${dir}" has no ${path.basename(file)}`,
      `it is not a model saved by mldb train; ${what}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidDataError(
      `${file} is not valid JSON (damaged or truncated)`,
      `retrain the model, or restore the folder: ${what}`,
    );
  }
  return parsed as Record<string, unknown>;
}

/** Loads what saveModel wrote (or any tfjs layers-model folder) from the file system. */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  if (!fs.existsSync(dir))
    throw new NotFoundError(
      `no model at "${dir}"`,
      'train one with `mldb train --model NAME --save DIR`, or list models/',
    );
  if (!fs.statSync(dir).isDirectory())
    throw new InvalidDataError(`"${dir}" is a file, not a model folder`, 'pass the folder that holds model.json');
  const json = readJson(path.join(dir, 'model.json'), 'it needs model.json and weights.bin', dir);
  const manifest = json.weightsManifest as
    Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> | undefined;
  if (!json.modelTopology || !Array.isArray(manifest))
    throw new InvalidDataError(
      `${path.join(dir, 'model.json')} is not a tfjs layers model`,
      'pass a folder written by `mldb train` or tfjs model.save',
    );
  let weightData: Buffer;
  try {
    weightData = Buffer.concat(manifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
  } catch (err) {
    throw new InvalidDataError(
      `model folder "${dir}" is missing a weights file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      'restore weights.bin or retrain the model',
    );
  }
  const specs = manifest.flatMap((g) => g.weights);
  // Quantized weights have their own sizes; for plain ones a short file means a truncated copy.
  const bytesOf: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1 };
  const plain = specs.every((s) => !s.quantization && bytesOf[s.dtype] !== undefined);
  const expected = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1) * (bytesOf[s.dtype] ?? 4), 0);
  if (plain && weightData.length !== expected) {
    throw new InvalidDataError(
      `the weights of "${dir}" are ${weightData.length} bytes, the model needs ${expected} (truncated or from ` +
        `another model)`,
      'restore weights.bin or retrain the model',
    );
  }
  try {
    return await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
      }),
    );
  } catch (err) {
    throw new InvalidDataError(
      `cannot load the model in "${dir}": ${(err as Error).message.split('\n')[0]}`,
      'retrain the model, or check it was saved by a compatible tfjs',
    );
  }
}

/** metadata.json of a saved model, checked for what evaluate and predict rely on. */
export function readMetadata(dir: string): ModelMetadata {
  const meta = readJson(path.join(dir, 'metadata.json'), 'mldb needs its labels and input shape', dir);
  const shapeOk =
    Array.isArray(meta.inputShape) &&
    meta.inputShape.length === 3 &&
    meta.inputShape.every((n: unknown) => Number.isInteger(n) && (n as number) > 0);
  if (!Array.isArray(meta.labels) || meta.labels.length < 2 || !shapeOk) {
    throw new InvalidDataError(
      `${path.join(dir, 'metadata.json')} lacks labels or an input shape`,
      'retrain the model with `mldb train`',
    );
  }
  return meta as unknown as ModelMetadata;
}

export interface SavedModel {
  dir: string;
  model: tf.LayersModel;
  metadata: ModelMetadata;
}

/** A model folder written by `mldb train`: the network and its metadata, consistent with each other. */
export async function loadSavedModel(dir: string): Promise<SavedModel> {
  const resolved = path.resolve(dir);
  const model = await loadModel(resolved);
  let metadata: ModelMetadata;
  try {
    metadata = readMetadata(resolved);
    const out = model.outputs[0].shape[1];
    if (out !== metadata.labels.length)
      throw new InvalidDataError(
        `the model in "${dir}" has ${out} outputs but its metadata names ${metadata.labels.length} labels`,
        'the folder mixes files of two models: retrain it',
      );
    const inShape = model.inputs[0].shape.slice(1);
    if (inShape.join('x') !== metadata.inputShape.join('x'))
      throw new InvalidDataError(
        `the model in "${dir}" takes ${inShape.join('×')} but its metadata says ${metadata.inputShape.join('×')}`,
        'the folder mixes files of two models: retrain it',
      );
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { dir: resolved, model, metadata };
}
