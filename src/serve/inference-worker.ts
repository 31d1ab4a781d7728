/**
 * An inference worker: one copy of the served model on its own thread (its own wasm instance, so
 * its own core). The main thread keeps HTTP, decoding and logging; batches come here.
 */
import { parentPort } from 'node:worker_threads';
import { savedModelFromFiles, type SavedModel } from '../ml/artifacts';
import { selectBackend } from '../ml/backend';
import { tf } from '../ml/tf';
import type { FromInference, ToInference } from './inference-messages';

let saved: SavedModel | undefined;

function send(msg: FromInference, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(msg, transfer);
}

parentPort!.on('message', async (msg: ToInference) => {
  try {
    if (msg.type === 'init') {
      await selectBackend(msg.backend);
      saved = await savedModelFromFiles({ ...msg.files, weights: Buffer.from(msg.files.weights) }, 'the served model');
      const [h, w, c] = saved.metadata.inputShape;
      // The first call compiles the backend's kernels: pay it before the first request.
      tf.tidy(() => (saved!.model.predict(tf.zeros([1, h, w, c])) as tf.Tensor).dataSync());
      send({ type: 'ready' });
    } else if (msg.type === 'predict') {
      const [h, w, c] = saved!.metadata.inputShape;
      const probs = tf.tidy(
        () => (saved!.model.predict(tf.tensor4d(msg.xs, [msg.n, h, w, c])) as tf.Tensor).dataSync() as Float32Array,
      );
      const copy = new Float32Array(probs);
      send({ type: 'probs', seq: msg.seq, probs: copy }, [copy.buffer]);
    } else if (msg.type === 'close') {
      saved?.model.dispose();
      parentPort!.close();
    }
  } catch (err) {
    send({ type: 'error', seq: msg.type === 'predict' ? msg.seq : undefined, message: (err as Error).message });
  }
});
