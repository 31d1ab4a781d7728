import { RequestError } from './request-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The one rule for a label correction, wherever it arrives (the service's `/v1/...` route, the
 * dashboard's): a prediction id, and one of the labels of the model that made the prediction.
 * A correction becomes training data through `predictions promote`, so a label the model never
 * had would add a class nobody chose.
 */
export function checkCorrection(id: string, label: unknown, modelLabels: readonly string[]): string {
  checkPredictionId(id);
  if (typeof label !== 'string' || !modelLabels.includes(label)) {
    const shown = modelLabels.length > 20 ? `${modelLabels.slice(0, 20).join(', ')}, …` : modelLabels.join(', ');
    throw new RequestError(400, 'bad_label', `label must be one of the model's labels: ${shown}`);
  }
  return label;
}

export function checkPredictionId(id: string): void {
  if (!UUID.test(id)) throw new RequestError(400, 'bad_id', `"${id}" is not a prediction id`);
}
