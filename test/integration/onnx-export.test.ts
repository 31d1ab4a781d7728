import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeToShape } from '../../src/images/decode';
import { ARCHITECTURES } from '../../src/ml/architectures/registry';
import { selectBackend } from '../../src/ml/backend';
import { mulberry32 } from '../../src/ml/seeded';
import { ONNX_INPUT, ONNX_OUTPUT, toOnnx } from '../../src/ml/onnx/export';
import { tf } from '../../src/ml/tf';
import { SAMPLE_DIGITS } from '../helpers/fixtures';

/** Real digits (two per class), decoded and scaled as training does, at the given shape. */
async function digits(shape: { height: number; width: number; channels: 1 | 3 }): Promise<Float32Array> {
  const files = fs.readdirSync(SAMPLE_DIGITS).flatMap((label) =>
    fs
      .readdirSync(path.join(SAMPLE_DIGITS, label))
      .slice(0, 2)
      .map((f) => path.join(SAMPLE_DIGITS, label, f)),
  );
  const per = shape.height * shape.width * shape.channels;
  const xs = new Float32Array(files.length * per);
  for (const [i, f] of files.entries()) {
    const px = await decodeToShape(fs.readFileSync(f), shape);
    for (let k = 0; k < per; k++) xs[i * per + k] = px[k] / 255;
  }
  return xs;
}

/** Batch-norm statistics and affine weights away from 0/1, so that a wrong mapping shows. */
function perturbBatchNorm(model: tf.LayersModel, seed: number): void {
  const random = mulberry32(seed);
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    for (const w of layer.weights) {
      const n = Number(w.shape[0]);
      const kind = w.originalName.split('/').pop();
      const values = Float32Array.from({ length: n }, () =>
        kind === 'moving_variance' ? 0.5 + random() * 1.5 : kind === 'gamma' ? 0.5 + random() : random() - 0.5,
      );
      w.write(tf.tensor1d(values));
    }
  }
}

beforeAll(async () => {
  expect((await selectBackend('wasm')).name).toBe('wasm');
});

describe('ONNX export: the exported file computes what the tfjs model computes', () => {
  const shapes: Array<[number, number, number]> = [
    [28, 28, 1], // 28 → 14 → 7 → 4: "same" padding with stride 2 on an odd size pads unevenly
    [32, 32, 3],
  ];
  test.each([...ARCHITECTURES.keys()].flatMap((a) => shapes.map((s) => [a, s] as const)))(
    '%s at %j: onnxruntime within 1e-4 of tfjs on real images',
    async (name, inputShape) => {
      const model = ARCHITECTURES.get(name)!.build(tf, { inputShape, numClasses: 10, seed: 5 });
      perturbBatchNorm(model, 9);
      const [height, width, channels] = inputShape as [number, number, 1 | 3];
      const xs = await digits({ height, width, channels });
      const n = xs.length / (height * width * channels);
      const expected = tf.tidy(() => (model.predict(tf.tensor4d(xs, [n, ...inputShape])) as tf.Tensor).dataSync());
      const session = await ort.InferenceSession.create(toOnnx(model));
      try {
        const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', xs, [n, ...inputShape]) });
        const got = out[ONNX_OUTPUT].data as Float32Array;
        expect(out[ONNX_OUTPUT].dims).toEqual([n, 10]);
        const maxDiff = got.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0);
        expect(maxDiff).toBeLessThanOrEqual(1e-4);
        // Not a constant: the images are told apart (the classes differ between rows).
        expect(new Set(Array.from(got.slice(0, 10))).size).toBeGreaterThan(1);
      } finally {
        await session.release();
        model.dispose();
      }
    },
  );
});
