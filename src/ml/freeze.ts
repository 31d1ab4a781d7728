import { UsageError } from '../errors';
import type { StepEngine } from './engines/step-engine';
import type { tf } from './tf';
import type { TrainingOptions } from './training-options';

/**
 * Layers kept fixed while the rest trains (`--freeze N|up-to:LAYER`), and released later
 * (`--unfreeze-at EPOCH`). A frozen layer is `trainable = false` in the tfjs model, which every
 * engine reads: tfjs leaves its weights out of the optimizer, and the ONNX step graph gives them
 * no update and, since a frozen prefix has nothing trainable before it, no gradient nodes at all
 * (onnx/training-graph.ts). A frozen batch-norm layer normalises by its stored moving statistics
 * and leaves them as they are, as Keras does since TF 2 (BN with trainable False runs in inference
 * mode): in the ONNX graphs by its entry (onnx/layers/batch-norm.ts), in tfjs by the call held
 * here, and precise batch-norm passes it by.
 */

/** The layers a `--freeze` value names, and the epoch they are released at (null: never). */
export interface FreezePlan {
  layers: string[];
  unfreezeAt: number | null;
}

const isInput = (l: tf.layers.Layer) => l.getClassName() === 'InputLayer';

/**
 * The first N layers in the model's order (its input not counted), or every layer up to and
 * including LAYER. The head (the last layer with weights) must stay trainable: nothing would learn.
 */
export function planFreeze(
  model: tf.LayersModel,
  freeze: TrainingOptions['freeze'],
  unfreezeAt: number | undefined,
): FreezePlan | null {
  if (freeze === undefined) {
    if (unfreezeAt !== undefined)
      throw new UsageError(
        'unfreezeAt releases frozen layers; nothing is frozen',
        'add --freeze, or drop --unfreeze-at',
        {
          field: 'unfreezeAt',
        },
      );
    return null;
  }
  const layers = model.layers.filter((l) => !isInput(l));
  let count: number;
  if (typeof freeze === 'number') count = freeze;
  else {
    const name = freeze.slice('up-to:'.length);
    const at = layers.findIndex((l) => l.name === name);
    if (at < 0)
      throw new UsageError(
        `freeze ${freeze}: ${model.name} has no layer "${name}"`,
        `its layers: ${layers.map((l) => l.name).join(', ')}`,
        { field: 'freeze', subject: name },
      );
    count = at + 1;
  }
  const head = [...layers].reverse().find((l) => l.weights.length > 0);
  const frozen = layers.slice(0, count);
  if (head && frozen.includes(head))
    throw new UsageError(
      `freeze ${freeze} would freeze the head (layer ${head.name}, number ${layers.indexOf(head) + 1} of ` +
        `${layers.length}): nothing would learn`,
      `freeze at most ${layers.indexOf(head)} layers`,
      { field: 'freeze', subject: head.name },
    );
  return { layers: frozen.map((l) => l.name), unfreezeAt: unfreezeAt ?? null };
}

type Call = tf.layers.Layer['call'];
const heldCalls = new WeakMap<tf.layers.Layer, Call>();

/**
 * Sets the plan's layers fixed (`frozen` true) or trainable again. Done before an engine opens:
 * tfjs collects the trainable weights when the model is compiled, and the ONNX graphs when they
 * are built.
 */
export function setFrozen(model: tf.LayersModel, plan: FreezePlan, frozen: boolean): void {
  for (const name of plan.layers) {
    const layer = model.getLayer(name);
    layer.trainable = !frozen;
    if (layer.getClassName() !== 'BatchNormalization') continue;
    // tfjs's batch-norm takes only the call's `training` flag into account, not `trainable`.
    if (frozen && !heldCalls.has(layer)) {
      const call = layer.call.bind(layer) as Call;
      heldCalls.set(layer, call);
      layer.call = (inputs, kwargs) => call(inputs, { ...kwargs, training: false });
    } else if (!frozen && heldCalls.has(layer)) {
      heldCalls.delete(layer);
      delete (layer as Partial<Pick<tf.layers.Layer, 'call'>>).call;
    }
  }
}

/** tfjs replicas on other threads build the model afresh and would train every layer. */
export function workersForFreeze(workers: number | 'auto', freezing: boolean): number | 'auto' {
  if (!freezing || workers === 'auto') return freezing ? 1 : workers;
  if (workers > 1)
    throw new UsageError(
      `workers ${workers} splits batches over replicas that do not freeze layers`,
      'drop --workers (frozen layers train on one thread with tfjs), or train with --backend onnxruntime',
      {
        field: 'workers',
      },
    );
  return workers;
}

/**
 * A step engine that can be reopened with every layer trainable: the weights are written back to
 * the model, the engine closed, the layers released and a new engine opened on the model as it
 * is — with a fresh optimizer, as Keras recompiles the model after setting `trainable`.
 */
export class ReleasableEngine implements StepEngine {
  /** Between closing one engine and opening the next: nothing left to close if the opening fails. */
  private closed = false;

  private constructor(
    private current: StepEngine,
    private readonly open: (learningRate: number) => Promise<StepEngine>,
  ) {}

  static async open(open: (learningRate: number) => Promise<StepEngine>, learningRate: number) {
    return new ReleasableEngine(await open(learningRate), open);
  }

  /** Releases the plan's layers; training goes on at the returned (scaled) learning rate. */
  async release(model: tf.LayersModel, plan: FreezePlan, learningRate: number, scale: number): Promise<number> {
    this.current.syncModel();
    this.closed = true;
    await this.current.close();
    setFrozen(model, plan, false);
    this.current = await this.open(learningRate * scale);
    this.closed = false;
    return learningRate * scale;
  }

  get backend() {
    return this.current.backend;
  }
  get workers() {
    return this.current.workers;
  }
  get batchNorm() {
    return this.current.batchNorm;
  }
  step(xs: Float32Array, ys: Float32Array, n: number) {
    return this.current.step(xs, ys, n);
  }
  setLearningRate(lr: number) {
    this.current.setLearningRate(lr);
  }
  setMomentum(momentum: number) {
    this.current.setMomentum(momentum);
  }
  predict(xs: Float32Array, n: number) {
    return this.current.predict(xs, n);
  }
  syncModel() {
    this.current.syncModel();
  }
  async close() {
    if (!this.closed) await this.current.close();
  }
}
