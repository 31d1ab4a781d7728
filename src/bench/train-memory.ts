import { MlDb } from '../mldb';
import type { TrainingBackendChoice } from '../ml/backend-names';
import { tf } from '../ml/tf';
import { trainModel } from '../ml/train';
import { peakResidentMb } from './peak-memory';

/**
 * `node train-memory.js URL TABLE EPOCHS [BACKEND]`: `mldb train`'s resident memory as a user's
 * process of its own sees it — simple_cnn on BACKEND (default onnxruntime) for EPOCHS epochs of
 * TABLE, the process's resident size and tfjs' tensors after each epoch, and its peak (VmHWM), as
 * one line of JSON. A child of the bench (epoch-bench.ts), so that what the bench ran before does
 * not count, as PyTorch's replica is measured in a process of its own.
 */
async function main(): Promise<void> {
  const [url, table, epochs, backend = 'onnxruntime'] = process.argv.slice(2);
  const mldb = new MlDb({ url, table });
  const rss: number[] = [];
  const tensors: number[] = [];
  try {
    const r = await trainModel(await mldb.connection(), {
      table,
      model: 'simple_cnn',
      epochs: Number(epochs),
      backend: backend as TrainingBackendChoice,
      onnx: mldb.settings.onnx,
      onEpoch: () => {
        rss.push(process.memoryUsage().rss / 2 ** 20);
        tensors.push(tf.memory().numTensors);
      },
    });
    r.model.dispose();
  } finally {
    await mldb.close();
  }
  console.log(JSON.stringify({ rss, tensors, peakMb: peakResidentMb() }));
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
