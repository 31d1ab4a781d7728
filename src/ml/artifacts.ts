import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FileTooLarge, NotRegularFile, readRegularFile } from '../read-file';
import { withFileLock } from '../file-lock';
import { InvalidDataError, NotFoundError, UsageError } from '../errors';
import type { ModelFiles, StoredModel } from '../db/models';
import { checkWritableFolderPath } from '../file-targets';
import { tf } from './tf';
import { resizeModeOfFit, type ImageShape, type SharpFit } from '../image-shape';

/** What mldb writes beside model.json: enough to evaluate, predict and reproduce. */
export interface ModelMetadata {
  format: 'mldb-model';
  formatVersion: 1;
  /** Labels in class-index order: output k of the model is labels[k]. */
  labels: string[];
  /** [height, width, channels] */
  inputShape: [number, number, number];
  /**
   * How an image becomes the input tensor: decode, resize to the shape (sharp's fit: fill stretches,
   * cover crops the centre, contain pads with black, as the training table did), gray/RGB, × scale.
   */
  preprocessing: { resize: SharpFit; channels: number; scale: number };
  dataset: {
    table: string;
    database: string;
    fingerprint: { rows: number; sha256: string };
    /** The largest row id trained on (absent in models saved before it was recorded). */
    rowsUntil?: number;
    /** The table version trained on (absent for a model trained before tables had versions). */
    tableVersion?: number | null;
  };
  architecture: string;
  hyperparameters: Record<string, unknown>;
  split: { train: number; validation: number; test: number };
  epochs: unknown[];
  /** --restore-best: the epoch whose weights these are (metrics are that epoch's). */
  restoredEpoch?: number;
  metrics: Record<string, unknown>;
  backend: string;
  versions: { mldb: string; tfjs: string };
  createdAt: string;
  /** The run in mldb_runs that produced it. */
  runId?: number;
  /** SHA-256 of weights.bin, checked on every load (absent in models saved before it was added). */
  weightsSha256?: string;
}

function sha256Hex(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

export const MODEL_FILES = ['model.json', 'weights.bin', 'metadata.json'];

/**
 * A model may replace a folder only if that folder is itself a saved model (or empty): `--save .`
 * must never delete the working directory. Checked before training and again before writing.
 */
export function checkSaveTarget(dir: string): void {
  const target = path.resolve(dir);
  checkWritableFolderPath('--save', dir, target);
  if (!fs.existsSync(target)) return;
  if (!fs.statSync(target).isDirectory())
    throw new UsageError(`--save "${dir}" is a file`, 'choose a new folder for the model');
  // A model's own names must be files too: a folder called weights.bin holds someone's files.
  const notFiles = MODEL_FILES.filter((f) => {
    const st = fs.lstatSync(path.join(target, f), { throwIfNoEntry: false });
    return st !== undefined && !st.isFile();
  });
  if (notFiles.length > 0)
    throw new UsageError(
      `--save "${dir}" holds ${notFiles.join(', ')} that ${notFiles.length > 1 ? 'are' : 'is'} not a file`,
      'choose a new folder: only a previous model folder is replaced',
    );
  const foreign = fs.readdirSync(target).filter((f) => !MODEL_FILES.includes(f));
  if (foreign.length > 0) {
    throw new UsageError(
      `--save "${dir}" already holds other files (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''})`,
      'choose a new folder: only a previous model folder is replaced',
    );
  }
}

/** The three files of a saved model, in memory: what a folder holds and what mldb_models stores. */
export type { ModelFiles } from '../db/models';

/**
 * A LayersModel as the standard tfjs files (model.json + one weights.bin, loadable by stock
 * tf.loadLayersModel) plus metadata.json, without tfjs-node's file:// handler.
 */
export async function serializeModel(
  model: tf.LayersModel,
  metadata: ModelMetadata | Record<string, unknown>,
): Promise<ModelFiles> {
  let files: ModelFiles | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = Buffer.from(artifacts.weightData as ArrayBuffer);
      files = {
        modelJson: JSON.stringify({
          modelTopology: artifacts.modelTopology,
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
          convertedBy: null,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        }),
        weights,
        // The checksum travels with the model: a weights file of the right size but other
        // content would otherwise load and predict garbage without a word.
        metadata: JSON.stringify({ ...metadata, weightsSha256: sha256Hex(weights) }, null, 2) + '\n',
      };
      return {
        modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.length },
      };
    }),
  );
  return files!;
}

/**
 * Writes a model's files as a folder. Files are written to a temporary folder and renamed into
 * place, so a killed save leaves nothing half-written; the weights always go to one weights.bin.
 * Two processes saving to one folder at once (two experiments, two CI jobs) take turns under a
 * lock beside it: each folder is one model's, whole, never a mix of two.
 */
export async function writeModelFolder(dir: string, files: ModelFiles): Promise<string> {
  const target = path.resolve(dir);
  checkWritableFolderPath('--save', dir, target);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const lock = {
    waitMs: SAVE_LOCK_WAIT_MS,
    busy: (pid: number) =>
      new UsageError(
        `another process (pid ${pid}) has been saving a model to ${target} for ${SAVE_LOCK_WAIT_MS / 1000} s`,
        'wait for it, or save to another folder',
      ),
  };
  return withFileLock(`${target}.lock`, lock, async () => {
    // What the folder holds is checked under the lock: another saver may be replacing it until then.
    checkSaveTarget(dir);
    const tmp = `${target}.partial-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    try {
      const json = JSON.parse(files.modelJson) as { weightsManifest: Array<{ paths: string[]; weights: unknown[] }> };
      json.weightsManifest = [{ paths: ['weights.bin'], weights: json.weightsManifest.flatMap((g) => g.weights) }];
      fs.writeFileSync(path.join(tmp, 'weights.bin'), files.weights);
      fs.writeFileSync(path.join(tmp, 'model.json'), JSON.stringify(json));
      fs.writeFileSync(path.join(tmp, 'metadata.json'), files.metadata);
      fs.rmSync(target, { recursive: true, force: true });
      fs.renameSync(tmp, target);
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    return target;
  });
}

/** A save takes well under a second; a holder past this is stuck. */
const SAVE_LOCK_WAIT_MS = 60_000;

/** Saves a LayersModel and its metadata as a model folder (see serializeModel, writeModelFolder). */
export async function saveModel(
  model: tf.LayersModel,
  dir: string,
  metadata: ModelMetadata | Record<string, unknown>,
): Promise<string> {
  checkSaveTarget(dir);
  return writeModelFolder(dir, await serializeModel(model, metadata));
}

function parseJson(text: string, file: string, what: string): Record<string, unknown> {
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

function readText(file: string, what: string, dir: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    throw new InvalidDataError(
      `model folder "${dir}" has no ${path.basename(file)}`,
      `it is not a model saved by mldb train; ${what}`,
    );
  }
}

type WeightsManifest = Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;

/** model.json checked for what loading needs. */
function parseModelJson(text: string, where: string): { modelTopology: unknown; manifest: WeightsManifest } {
  const json = parseJson(text, where, 'it needs model.json and weights.bin');
  const manifest = json.weightsManifest as WeightsManifest | undefined;
  if (!json.modelTopology || !Array.isArray(manifest))
    throw new InvalidDataError(
      `${where} is not a tfjs layers model`,
      'pass a folder written by `mldb train` or tfjs model.save',
    );
  return { modelTopology: json.modelTopology, manifest };
}

/** Larger weights than any tfjs layers model mldb builds or loads (its biggest are a few MB). */
const MAX_WEIGHTS_BYTES = 2 * 1024 ** 3;

/**
 * A weights path of model.json as a file inside the model folder: a plain relative name, and
 * not a link out of it. A shared folder must not carry a machine's other files into the database.
 */
function weightsFile(dir: string, realDir: string, name: string): string {
  const outside = () =>
    new InvalidDataError(
      `model.json of "${dir}" names weights outside its folder (${JSON.stringify(name)})`,
      'weights paths must be file names inside the model folder: save the model again',
    );
  if (path.isAbsolute(name)) throw outside();
  const file = path.resolve(dir, name);
  const inside = (root: string, f: string) => {
    const rel = path.relative(root, f);
    return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
  };
  if (!inside(path.resolve(dir), file)) throw outside();
  const real = fs.existsSync(file) ? fs.realpathSync(file) : file;
  if (fs.existsSync(file) && !inside(realDir, real)) throw outside();
  return file;
}

/** A model folder's files, read into memory (weights concatenated in manifest order). */
export function readModelFolder(dir: string): ModelFiles {
  if (!fs.existsSync(dir))
    throw new NotFoundError(
      `no model at "${dir}"`,
      'train one with `mldb train --model NAME --save DIR`, or list stored models with `mldb models`',
      { reason: 'model-folder-missing', subject: dir },
    );
  if (!fs.statSync(dir).isDirectory())
    throw new InvalidDataError(`"${dir}" is a file, not a model folder`, 'pass the folder that holds model.json');
  const modelJson = readText(path.join(dir, 'model.json'), 'it needs model.json and weights.bin', dir);
  const { manifest } = parseModelJson(modelJson, path.join(dir, 'model.json'));
  const real = fs.realpathSync(dir);
  const weightFiles = manifest.flatMap((g) => g.paths).map((p) => weightsFile(dir, real, p));
  let weights: Buffer;
  try {
    weights = Buffer.concat(weightFiles.map((f) => readRegularFile(f, MAX_WEIGHTS_BYTES)));
  } catch (err) {
    if (err instanceof NotRegularFile || err instanceof FileTooLarge)
      throw new InvalidDataError(`a weights file of model folder "${dir}" is ${err.message}`, 'retrain the model');
    throw new InvalidDataError(
      `model folder "${dir}" is missing a weights file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      'restore weights.bin or retrain the model',
    );
  }
  const metaFile = path.join(dir, 'metadata.json');
  const metadata = fs.existsSync(metaFile) ? readText(metaFile, '', dir) : '{}';
  return { modelJson, weights, metadata };
}

/** The weights checksum metadata.json records, if it can be read (its other checks come later). */
function recordedChecksum(metadata: string): string | undefined {
  try {
    const sha = (JSON.parse(metadata) as { weightsSha256?: unknown }).weightsSha256;
    return typeof sha === 'string' ? sha : undefined;
  } catch {
    return undefined;
  }
}

/** A LayersModel from its files; `where` names them in errors (a folder, or a stored model). */
export async function modelFromFiles(
  files: ModelFiles,
  where: string,
  weightsSha256?: string,
): Promise<tf.LayersModel> {
  const { modelTopology, manifest } = parseModelJson(files.modelJson, `model.json of ${where}`);
  const weightData = files.weights;
  const specs = manifest.flatMap((g) => g.weights);
  // Quantized weights have their own sizes; for plain ones a short file means a truncated copy.
  const bytesOf: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1 };
  const plain = specs.every((s) => !s.quantization && bytesOf[s.dtype] !== undefined);
  const expected = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1) * (bytesOf[s.dtype] ?? 4), 0);
  if (plain && weightData.length !== expected) {
    throw new InvalidDataError(
      `the weights of "${where}" are ${weightData.length} bytes, the model needs ${expected} (truncated or from ` +
        `another model)`,
      'restore weights.bin or retrain the model',
    );
  }
  if (weightsSha256 !== undefined && sha256Hex(weightData) !== weightsSha256) {
    throw new InvalidDataError(
      `the weights of "${where}" do not match the checksum in its metadata (damaged or replaced)`,
      'restore weights.bin or retrain the model',
    );
  }
  try {
    return await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelTopology as tf.io.ModelJSON['modelTopology'],
        weightSpecs: specs,
        weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
      }),
    );
  } catch (err) {
    throw new InvalidDataError(
      `cannot load the model in "${where}": ${(err as Error).message.split('\n')[0]}`,
      'retrain the model, or check it was saved by a compatible tfjs',
    );
  }
}

/** Loads what saveModel wrote (or any tfjs layers-model folder) from the file system. */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return modelFromFiles(readModelFolder(dir), dir);
}

/** metadata.json of a saved model, checked for what evaluate and predict rely on. */
export function parseMetadata(text: string, where: string): ModelMetadata {
  const meta = parseJson(text, `metadata.json of ${where}`, 'mldb needs its labels and input shape');
  const shapeOk =
    Array.isArray(meta.inputShape) &&
    meta.inputShape.length === 3 &&
    meta.inputShape.every((n: unknown) => Number.isInteger(n) && (n as number) > 0);
  if (!Array.isArray(meta.labels) || meta.labels.length < 2 || !shapeOk) {
    throw new InvalidDataError(
      `the metadata.json of ${where} lacks labels or an input shape`,
      'retrain the model with `mldb train`',
    );
  }
  return meta as unknown as ModelMetadata;
}

/**
 * The shape a model's inputs are made at, resized as its training table's images were (models
 * saved before the mode was recorded, or without one, stretch).
 */
export function modelImageShape(metadata: ModelMetadata): ImageShape {
  const [height, width, channels] = metadata.inputShape;
  const mode = resizeModeOfFit(metadata.preprocessing?.resize ?? 'fill');
  return { height, width, channels: channels as 1 | 3, ...(mode !== 'stretch' && { resize: mode }) };
}

export interface SavedModel {
  /** How the model was named: a resolved folder path, or `name@version` of a stored model. */
  dir: string;
  model: tf.LayersModel;
  metadata: ModelMetadata;
  /** The mldb_models row, when the model came from the database. */
  stored?: StoredModel;
  /** The files it was loaded from (what a worker thread needs to load its own copy). */
  files?: ModelFiles;
}

/** A network and its metadata from in-memory files, checked to be consistent with each other. */
export async function savedModelFromFiles(files: ModelFiles, where: string): Promise<SavedModel> {
  const model = await modelFromFiles(files, where, recordedChecksum(files.metadata));
  let metadata: ModelMetadata;
  try {
    metadata = parseMetadata(files.metadata, where);
    const out = model.outputs[0].shape[1];
    if (out !== metadata.labels.length)
      throw new InvalidDataError(
        `the model in "${where}" has ${out} outputs but its metadata names ${metadata.labels.length} labels`,
        'the folder mixes files of two models: retrain it',
      );
    const inShape = model.inputs[0].shape.slice(1);
    if (inShape.join('x') !== metadata.inputShape.join('x'))
      throw new InvalidDataError(
        `the model in "${where}" takes ${inShape.join('×')} but its metadata says ${metadata.inputShape.join('×')}`,
        'the folder mixes files of two models: retrain it',
      );
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { dir: where, model, metadata, files };
}

/** A model folder written by `mldb train`: the network and its metadata, consistent with each other. */
export async function loadSavedModel(dir: string): Promise<SavedModel> {
  const resolved = path.resolve(dir);
  const files = readModelFolder(resolved);
  if (!fs.existsSync(path.join(resolved, 'metadata.json')))
    readText(path.join(resolved, 'metadata.json'), 'mldb needs its labels and input shape', dir);
  return savedModelFromFiles(files, resolved);
}
