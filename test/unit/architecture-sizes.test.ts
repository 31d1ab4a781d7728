import * as ort from 'onnxruntime-node';
import { ARCHITECTURES, fitsArchitecture, requireFit } from '../../src/ml/architectures/registry';
import { nchwcBlockSize } from '../../src/ml/engines/nchwc-probe';
import { tf } from '../../src/ml/tf';
import { onnxSteps } from '../helpers/onnx-step';

/**
 * Each architecture's minSize is exact, on the training graph the default engine runs (with its
 * blocked convolutions): a step at minSize runs, and one pixel less fails there, so the up-front
 * refusal is neither late nor stricter than it must be.
 */
async function stepAt(name: string, size: number, nchwcBlock: number): Promise<number> {
  const model = ARCHITECTURES.get(name)!.build(tf, { inputShape: [size, size, 1], numClasses: 3, seed: 1 });
  try {
    const n = Math.max(nchwcBlock, 2);
    const xs = Float32Array.from({ length: n * size * size }, (_, i) => (i % 7) / 7);
    const ys = new Float32Array(n * 3).map((_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0));
    return (await onnxSteps(model, { xs, ys }, n, { kernels: { nchwcBlock, batchAligned: true, batch: n } })).loss;
  } finally {
    model.dispose();
  }
}

let block = 0;
beforeAll(async () => {
  await tf.setBackend('cpu');
  block = await nchwcBlockSize(ort);
});

test.each([...ARCHITECTURES.keys()])('%s trains at its minSize and not one pixel below', async (name) => {
  const a = ARCHITECTURES.get(name)!;
  expect(Number.isFinite(await stepAt(name, a.minSize, block))).toBe(true);
  if (a.minSize > 1) await expect(stepAt(name, a.minSize - 1, block)).rejects.toThrow();
});

test('a shape below minSize is one usage error naming the smallest size and the models that take any', () => {
  const lenet = ARCHITECTURES.get('lenet5')!;
  expect(fitsArchitecture(lenet, { height: 4, width: 40 })).toBe(true);
  expect(fitsArchitecture(lenet, { height: 3, width: 40 })).toBe(false);
  expect(() => requireFit(lenet, { height: 2, width: 2 })).toThrow(
    /^lenet5 needs images of at least 4x4 pixels; these are 2x2$/,
  );
  try {
    requireFit(lenet, { height: 2, width: 2 });
  } catch (e) {
    expect((e as { line: string }).line).toMatch(
      /a model that takes any size \(simple_cnn, simpler_cnn, resnet_small\)/,
    );
  }
});
