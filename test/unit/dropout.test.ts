import { tf } from '../../src/ml/tf';
import { dropout } from '../../src/ml/architectures/layers';
import { Seeds } from '../../src/ml/architectures/types';

function model(seed: number, name: string) {
  const input = tf.input({ shape: [64] });
  return tf.model({ inputs: input, outputs: dropout(tf, new Seeds(seed), input, 0.5, name) });
}

function masks(m: tf.LayersModel, n: number): string[] {
  const layer = m.layers[1];
  return tf.tidy(() =>
    Array.from({ length: n }, () =>
      Array.from((layer.apply(tf.ones([1, 64]), { training: true }) as tf.Tensor).dataSync()).join(','),
    ),
  );
}

test(
  'dropout draws a fresh mask every training batch (tfjs reuses one when seeded), the same sequence for the ' +
    'same seed',
  () => {
    const a = masks(model(3, 'drop_a'), 4);
    expect(new Set(a).size).toBe(4);
    expect(masks(model(3, 'drop_b'), 4)).toEqual(a);
    expect(masks(model(4, 'drop_c'), 4)).not.toEqual(a);
  },
);

test('it is inactive at inference and saves as a plain Dropout that stock tfjs knows', () => {
  const m = model(3, 'drop_d');
  const out = tf.tidy(() => Array.from((m.predict(tf.ones([1, 64])) as tf.Tensor).dataSync()));
  expect(out.every((v) => v === 1)).toBe(true);
  const json = m.toJSON(null, false) as { config: { layers: Array<{ class_name: string }> } };
  expect(json.config.layers[1].class_name).toBe('Dropout');
});
