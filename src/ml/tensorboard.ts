import type { EpochMetrics } from './train';

export interface EpochLogger {
  epoch(e: EpochMetrics): void;
  close(): void;
}

interface SummaryWriter {
  scalar(name: string, value: number, step: number): void;
  flush(): void;
}

/**
 * TensorBoard event files need native TensorFlow's summary writer (tfjs-node). With any other
 * backend this returns a reason instead, and training carries on without event logs.
 */
export function openTensorBoard(dir: string, backend: string): EpochLogger | { unavailable: string } {
  if (backend !== 'tensorflow') {
    return {
      unavailable:
        `--tensorboard needs the tensorflow backend (@tensorflow/tfjs-node); this run uses ` +
        `${backend}, so no event logs are written to ${dir}`,
    };
  }
  const node = (require('@tensorflow/tfjs-node') as { node: { summaryFileWriter(dir: string): SummaryWriter } }).node;
  const train = node.summaryFileWriter(`${dir}/train`);
  const validation = node.summaryFileWriter(`${dir}/validation`);
  return {
    epoch(e) {
      train.scalar('loss', e.loss, e.epoch);
      train.scalar('accuracy', e.accuracy, e.epoch);
      if (e.valLoss !== null) validation.scalar('loss', e.valLoss, e.epoch);
      if (e.valAccuracy !== null) validation.scalar('accuracy', e.valAccuracy, e.epoch);
    },
    close() {
      train.flush();
      validation.flush();
    },
  };
}
