/**
 * A training worker: one replica of the model on its own thread (and its own wasm instance, so
 * its own core). It computes gradients on its share of each batch and applies the averaged
 * gradients the main thread sends back, so that every replica keeps identical weights.
 */
import { parentPort } from 'node:worker_threads';
import { getArchitecture } from '../architectures/registry';
import { setDropoutSalt } from '../architectures/layers';
import { selectBackend } from '../backend';
import { makeOptimizer, setLearningRate, setMomentum } from '../optimizers';
import { tf } from '../tf';
import type { FromWorker, ToWorker } from './messages';
import { applyGradients, computeGradients } from './replica';

let model: tf.LayersModel | undefined;
let optimizer: tf.Optimizer | undefined;

function send(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(msg, transfer);
}

parentPort!.on('message', async (msg: ToWorker) => {
  try {
    if (msg.type === 'init') {
      await selectBackend(msg.spec.backend);
      setDropoutSalt(msg.spec.salt);
      model = getArchitecture(msg.spec.architecture).build(tf, {
        inputShape: msg.spec.inputShape,
        numClasses: msg.spec.numClasses,
        seed: msg.spec.seed,
      });
      // The main thread's initial weights, so that every replica starts identical.
      const initial = model.weights.map((w, i) => tf.tensor(msg.weights[i], w.shape as number[]));
      model.setWeights(initial);
      tf.dispose(initial);
      optimizer = makeOptimizer(msg.spec.optimizer, msg.spec.learningRate, msg.spec.weightDecay);
      send({ type: 'ready' });
    } else if (msg.type === 'step') {
      const r = computeGradients(model!, msg.xs, msg.ys, msg.n);
      send(
        { type: 'grads', ...r },
        r.grads.map((g) => g.buffer as ArrayBuffer),
      );
    } else if (msg.type === 'apply') {
      applyGradients(model!, optimizer!, msg.grads);
    } else if (msg.type === 'learning-rate') {
      setLearningRate(optimizer!, msg.learningRate);
    } else if (msg.type === 'momentum') {
      setMomentum(optimizer!, msg.momentum);
    } else if (msg.type === 'close') {
      optimizer?.dispose();
      model?.dispose();
      parentPort!.close();
    }
  } catch (err) {
    send({ type: 'error', message: (err as Error).message });
  }
});
