import type { Db } from '../db/db';
import { NotFoundError, UsageError } from '../errors';
import type { SavedModel } from './artifacts';
import { openModel } from './model-source';
import type { tf } from './tf';

/**
 * `--init-from REF`: a model built for this table starts from a trained one (MADlib's warm_start,
 * Keras' transfer learning). REF is what `--model` takes everywhere (model-source.ts). Every layer
 * whose name is in both takes the trained weights; a layer of the same name whose weights have
 * other shapes is an error naming it — except the head (the last layer with weights) when the
 * trained model's labels are not the table's: it keeps its fresh, seeded initialisation for the
 * table's labels.
 */
export interface InitFromSummary {
  /** The reference as given. */
  ref: string;
  /** What it resolved to: `name@version` of a stored model, or a folder. */
  model: string;
  /** Layers whose weights were copied. */
  copied: number;
  /** Layers with weights in this model. */
  layers: number;
  /** The head, when it was rebuilt for the table's labels (else null: copied). */
  headRebuilt: string | null;
}

const shapeText = (shape: readonly (number | null)[]) => shape.join('x');

async function openSource(db: Db, ref: string): Promise<SavedModel> {
  try {
    return await openModel(ref, async () => db);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    // The same error, naming the option it came from (its hint is the reference's own).
    throw new NotFoundError(`initFrom ${ref}: ${e.message}`, e.hint, {
      field: 'initFrom',
      reason: e.reason,
      subject: e.subject,
      cause: e,
    });
  }
}

/** Copies the trained weights of `ref` into `model` (built for `labels`); what it did. */
export async function initializeFrom(
  db: Db,
  model: tf.LayersModel,
  labels: readonly string[],
  ref: string,
): Promise<InitFromSummary> {
  const source = await openSource(db, ref);
  try {
    const from = source.stored ? `${source.stored.name}@${source.stored.version}` : source.dir;
    const withWeights = model.layers.filter((l) => l.weights.length > 0);
    const head = withWeights[withWeights.length - 1];
    const sameLabels =
      source.metadata.labels.length === labels.length && source.metadata.labels.every((l, i) => l === labels[i]);
    const pairs: Array<[tf.layers.Layer, tf.layers.Layer]> = [];
    for (const layer of withWeights) {
      const trained = source.model.layers.find((l) => l.name === layer.name);
      if (!trained || (layer === head && !sameLabels)) continue;
      const mismatch = layer.weights.length !== trained.weights.length ? 0 : undefined;
      const at =
        mismatch ?? layer.weights.findIndex((w, i) => shapeText(w.shape) !== shapeText(trained.weights[i].shape));
      if (at >= 0 || trained.getClassName() !== layer.getClassName()) {
        const mine = layer.weights[Math.max(at, 0)];
        const theirs = trained.weights[Math.max(at, 0)];
        throw new UsageError(
          `initFrom ${ref}: layer ${layer.name} cannot take its weights: ` +
            `${trained.getClassName()} ${theirs ? shapeText(theirs.shape) : '-'} there, ` +
            `${layer.getClassName()} ${mine ? shapeText(mine.shape) : '-'} here`,
          `start from a model of the same architecture and input channels (${from} is a ` +
            `${source.metadata.architecture} on ${shapeText(source.metadata.inputShape)} images)`,
          { field: 'initFrom', subject: layer.name },
        );
      }
      pairs.push([layer, trained]);
    }
    if (pairs.length === 0)
      throw new UsageError(
        `initFrom ${ref}: no layer of ${from} (${source.metadata.architecture}) matches one of ${model.name}`,
        'start from a model of the same architecture',
        { field: 'initFrom' },
      );
    for (const [layer, trained] of pairs) layer.setWeights(trained.getWeights());
    return {
      ref,
      model: from,
      copied: pairs.length,
      layers: withWeights.length,
      headRebuilt: sameLabels ? null : head.name,
    };
  } finally {
    source.model.dispose();
  }
}
