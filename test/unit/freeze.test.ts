import { getArchitecture } from '../../src/ml/architectures/registry';
import { selectBackend } from '../../src/ml/backend';
import { planFreeze, setFrozen } from '../../src/ml/freeze';
import { trainingGraph } from '../../src/ml/onnx/training-graph';
import { tf } from '../../src/ml/tf';

/** What freezing does to the model and to the ONNX step graph, without a database. */

beforeAll(async () => {
  await selectBackend('cpu');
});

const build = () => getArchitecture('simple_cnn').build(tf, { inputShape: [12, 12, 1], numClasses: 3, seed: 1 });

describe('planFreeze', () => {
  test('N counts layers in the model order without its input; up-to:LAYER includes LAYER', () => {
    const m = build();
    expect(planFreeze(m, 3, undefined)).toEqual({
      layers: ['block1_conv1', 'block1_bn1', 'block1_conv2'],
      unfreezeAt: null,
    });
    expect(planFreeze(m, 'up-to:block1_bn1', 4)).toEqual({ layers: ['block1_conv1', 'block1_bn1'], unfreezeAt: 4 });
    expect(planFreeze(m, undefined, undefined)).toBeNull();
    m.dispose();
  });

  test('an unknown layer, the head, or a release of nothing: errors by field', () => {
    const m = build();
    expect(() => planFreeze(m, 'up-to:nope', undefined)).toThrow(
      expect.objectContaining({
        field: 'freeze',
        subject: 'nope',
        hint: expect.stringMatching(/^its layers: block1_conv1, /),
      }),
    );
    expect(() => planFreeze(m, 'up-to:head_conv', undefined)).toThrow(/would freeze the head \(layer head_conv/);
    expect(() => planFreeze(m, undefined, 2)).toThrow(expect.objectContaining({ field: 'unfreezeAt' }));
    m.dispose();
  });
});

describe('a frozen prefix', () => {
  test('tfjs: no trainable weights in it; its batch-norm normalises by the stored statistics in training too', () => {
    const m = build();
    const plan = planFreeze(m, 'up-to:block1_bn1', undefined)!;
    const all = m.trainableWeights.length;
    setFrozen(m, plan, true);
    expect(m.trainableWeights.length).toBe(all - 4);
    const bn = m.getLayer('block1_bn1');
    const x = tf.randomNormal([2, 12, 12, 16], 3, 2, 'float32', 5);
    const training = bn.apply(x, { training: true }) as tf.Tensor;
    const inference = bn.apply(x, { training: false }) as tf.Tensor;
    expect(Array.from(training.dataSync())).toEqual(Array.from(inference.dataSync()));
    setFrozen(m, plan, false);
    expect(m.trainableWeights.length).toBe(all);
    const released = bn.apply(x, { training: true }) as tf.Tensor;
    expect(Array.from(released.dataSync())).not.toEqual(Array.from(inference.dataSync()));
    tf.dispose([x, training, inference, released]);
    m.dispose();
  });

  test('onnxruntime step graph: no gradient nodes and no update for its weights; its statistics stay', () => {
    const m = build();
    setFrozen(m, planFreeze(m, 'up-to:block1_bn2', undefined)!, true);
    const graph = trainingGraph(m, { optimizer: 'adam' });
    const text = Buffer.from(graph.bytes).toString('latin1');
    for (const layer of ['block1_conv1', 'block1_bn1', 'block1_conv2', 'block1_bn2'])
      expect(text).not.toContain(`${layer}/gradient`);
    expect(text).toContain('block2_conv1/gradient');
    const updated = (name: string) => graph.state.find((s) => s.input === name)?.output !== undefined;
    expect(updated('block1_conv1/kernel')).toBe(false);
    expect(updated('block1_bn1/gamma')).toBe(false);
    expect(updated('block1_bn1/moving_mean')).toBe(false);
    expect(updated('block2_conv1/kernel')).toBe(true);
    expect(updated('block2_bn1/moving_mean')).toBe(true);
    m.dispose();
  });
});
