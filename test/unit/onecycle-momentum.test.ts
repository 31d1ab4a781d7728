import * as ort from 'onnxruntime-node';
import { selectBackend } from '../../src/ml/backend';
import { onnxStepEngine } from '../../src/ml/engines/onnx-step-engine';
import type { StepEngine } from '../../src/ml/engines/step-engine';
import { tfjsStepEngine } from '../../src/ml/engines/tfjs-step-engine';
import { scheduleFactor, scheduleMomentum, type LrSchedule } from '../../src/ml/lr-schedule';
import { trainingGraph } from '../../src/ml/onnx/training-graph';
import { OPTIMIZERS, type OptimizerName } from '../../src/ml/optimizer-names';
import { mulberry32 } from '../../src/ml/seeded';
import { tf } from '../../src/ml/tf';
import type { DataPlan } from '../../src/ml/training-data';
import { runEpochs } from '../../src/ml/training-loop';
import { resolveHyperparameters } from '../../src/ml/training-options';
import { MemorySource } from '../../src/samples/sample-source';

/**
 * OneCycleLR's momentum cycling held to PyTorch 1.13: the momentum of every step, and a dense
 * softmax layer trained six full-batch steps under it with each optimizer that has a momentum
 * (torch's SGD with momentum 0.9, Adam, AdamW and Adamax with tfjs' ε 1e-7), on both engines —
 * printed once by src/bench/recipe-reference.py and kept here. Adam's bias correction is torch's,
 * 1 − β₁^step of the step's β₁: with tfjs' product of the β₁s so far instead, the same six steps
 * end up to 3e-2 (PyTorch with that correction, by hand) away from torch's weights, far outside the tolerance below.
 */
/** SGD's group['momentum'] step by step; Adam's betas[0] under the same schedule was the same list. */
const TORCH_MOMENTUM: Record<string, number[]> = {
  onecycle: [
    0.95, 0.9404508497187474, 0.9154508497187474, 0.8845491502812526, 0.8595491502812526, 0.85, 0.8512536043909088,
    0.854951556604879, 0.8609084258765984, 0.8688255099070633, 0.878305813044122, 0.8888739533021842,
    0.8999999999999999, 0.9111260466978157, 0.9216941869558779, 0.9311744900929366, 0.9390915741234015,
    0.945048443395121, 0.9487463956090911, 0.95,
  ],
  'onecycle+warmup': [
    0.95, 0.9353553390593273, 0.8999999999999999, 0.8646446609406726, 0.85, 0.8510926199633096, 0.8543227271178699,
    0.8595491502812526, 0.8665434696820571, 0.875, 0.8845491502812526, 0.8947735768366173, 0.9052264231633826,
    0.9154508497187474, 0.9249999999999999, 0.9334565303179428, 0.9404508497187474, 0.94567727288213,
    0.9489073800366903, 0.95,
  ],
};
const STEPS = 6;
const LR = 0.1;
const KERNEL = [
  [0.2, -0.1, 0.05],
  [-0.3, 0.25, 0.1],
  [0.15, 0.05, -0.2],
  [-0.05, 0.3, 0.1],
];
const BIAS = [0.01, -0.02, 0.0];
const XS = [
  [0.5, -0.2, 0.1, 0.9],
  [-0.7, 0.3, 0.8, -0.1],
  [0.2, 0.6, -0.5, 0.4],
  [0.9, -0.8, 0.3, 0.2],
  [-0.4, -0.1, 0.7, 0.6],
  [0.1, 0.4, 0.2, -0.9],
];
const LABELS = [0, 1, 2, 1, 0, 2];
const TORCH_WEIGHTS: Record<string, { kernel: number[]; bias: number[] }> = {
  momentum: {
    kernel: [
      0.1758529543876648, -0.08578183501958847, 0.05992887169122696, -0.3199310600757599, 0.1826057881116867,
      0.18732525408267975, 0.16924938559532166, 0.10375390201807022, -0.2730032801628113, 0.0667591318488121,
      0.26669466495513916, 0.016546225175261497,
    ],
    bias: [0.002729795640334487, -0.024714097380638123, 0.011984297074377537],
  },
  adam: {
    kernel: [
      -0.008086876012384892, 0.11119285225868225, 0.2514537572860718, -0.5119717121124268, 0.03749686852097511,
      0.31238681077957153, 0.36076900362968445, 0.2636585235595703, -0.41306108236312866, 0.16277673840522766,
      0.08864617347717285, -0.11326267570257187,
    ],
    bias: [-0.1395052820444107, -0.07964237779378891, 0.11016035079956055],
  },
  adamw: {
    kernel: [
      -0.008399886079132557, 0.11125512421131134, 0.25118687748908997, -0.5111029744148254, 0.03704435005784035,
      0.31198960542678833, 0.36025840044021606, 0.2633821368217468, -0.412420392036438, 0.1627434343099594,
      0.08807206898927689, -0.11335209757089615,
    ],
    bias: [-0.13930310308933258, -0.07947695255279541, 0.10997600853443146],
  },
  adamax: {
    kernel: [
      0.006643356755375862, 0.10186559706926346, 0.23092058300971985, -0.5052701234817505, 0.04189752787351608,
      0.30744829773902893, 0.3501869738101959, 0.2624233663082123, -0.41020795702934265, 0.15936042368412018,
      0.09633658081293106, -0.1115792915225029,
    ],
    bias: [-0.12817013263702393, -0.08231065422296524, 0.10657045245170593],
  },
};
/**
 * float32 arithmetic in another order (torch's step size lr/(1 − β₁^t) in double, tfjs divides m
 * first), which Adam's normalisation carries into whole steps: measured up to 2.3e-6.
 */
const TOLERANCE = 1e-5;

beforeAll(async () => {
  expect((await selectBackend('cpu')).name).toBe('cpu');
});

test.each([
  ['onecycle', { name: 'onecycle', total: 20, warmup: 0 }],
  ['onecycle+warmup', { name: 'onecycle', total: 20, warmup: 5 }],
] as Array<[string, LrSchedule]>)(
  '%s: every step’s momentum as PyTorch’s (SGD’s momentum, Adam’s β₁ alike)',
  (key, s) => {
    TORCH_MOMENTUM[key].forEach((v, step) => expect(scheduleMomentum(s, step)).toBeCloseTo(v, 12));
  },
);

test('the other schedules leave the momentum to the optimizer', () => {
  for (const name of ['constant', 'cosine'] as const)
    expect(scheduleMomentum({ name, total: 20, warmup: 5 }, 3)).toBeUndefined();
  expect(scheduleMomentum(null, 3)).toBeUndefined();
});

function denseModel(): tf.LayersModel {
  const model = tf.sequential({
    layers: [tf.layers.flatten({ inputShape: [2, 2, 1] }), tf.layers.dense({ units: 3, activation: 'softmax' })],
  });
  model.setWeights([tf.tensor2d(KERNEL), tf.tensor1d(BIAS)]);
  return model;
}

const ENGINES: Record<string, (model: tf.LayersModel, optimizer: OptimizerName) => Promise<StepEngine>> = {
  onnxruntime: (model, optimizer) =>
    onnxStepEngine(ort, model, { optimizer, learningRate: LR, cycleMomentum: true, threads: 1 }),
  tfjs: (model, optimizer) =>
    tfjsStepEngine(model, { architecture: 'dense', seed: 1, optimizer, learningRate: LR, backend: 'cpu', workers: 1 }),
};

test.each(Object.keys(ENGINES).flatMap((engine) => Object.keys(TORCH_WEIGHTS).map((o) => [engine, o])))(
  '%s, %s: six steps under onecycle move the weights as torch’s OneCycleLR does',
  async (engineName, optimizer) => {
    const model = denseModel();
    const engine = await ENGINES[engineName](model, optimizer as OptimizerName);
    const schedule: LrSchedule = { name: 'onecycle', total: STEPS, warmup: 0 };
    const xs = Float32Array.from(XS.flat());
    const ys = new Float32Array(XS.length * 3);
    LABELS.forEach((label, i) => (ys[i * 3 + label] = 1));
    try {
      for (let step = 0; step < STEPS; step++) {
        engine.setMomentum(scheduleMomentum(schedule, step)!);
        engine.setLearningRate(LR * scheduleFactor(schedule, step));
        await engine.step(xs, ys, XS.length);
      }
      engine.syncModel();
      const [kernel, bias] = model.getWeights().map((w) => Array.from(w.dataSync()));
      const expected = TORCH_WEIGHTS[optimizer];
      const gap = Math.max(
        ...kernel.map((v, i) => Math.abs(v - expected.kernel[i])),
        ...bias.map((v, i) => Math.abs(v - expected.bias[i])),
      );
      expect(gap).toBeLessThanOrEqual(TOLERANCE);
    } finally {
      await engine.close();
      model.dispose();
    }
  },
);

test('only the optimizers with a momentum take it as a step input; the others’ graphs are the same bytes', () => {
  const model = denseModel();
  try {
    for (const optimizer of OPTIMIZERS) {
      const plain = trainingGraph(model, { optimizer });
      const cycled = trainingGraph(model, { optimizer, cycleMomentum: true });
      const extra = Object.keys(cycled.scalars).filter((k) => !(k in plain.scalars));
      if (optimizer === 'momentum') expect(extra).toEqual(['mu']);
      else if (['adam', 'adamw', 'adamax'].includes(optimizer)) expect(extra).toEqual(['beta1', 'oneMinusBeta1']);
      else {
        expect(extra).toEqual([]);
        expect(Buffer.compare(Buffer.from(cycled.bytes), Buffer.from(plain.bytes))).toBe(0);
      }
    }
  } finally {
    model.dispose();
  }
});

/** The loop's calls to a recording engine over 2 epochs of 3 batches (10 rows, batches of 4). */
async function loopCalls(lrSchedule: string, optimizer = 'adam'): Promise<string[]> {
  const shape = { height: 2, width: 2, channels: 1 as const };
  const ids = Array.from({ length: 10 }, (_, i) => i + 1);
  const labels = ids.map((i) => String(i % 2));
  const source = new MemorySource(
    { pixels: new Uint8Array(40), ids, labels, hashes: ids.map(() => Buffer.alloc(32)), count: 10 },
    shape,
  );
  const calls: string[] = [];
  const engine: StepEngine = {
    backend: 'recording',
    workers: 1,
    step: async () => {
      calls.push('step');
      return { loss: 1, accuracy: 0.5 };
    },
    setLearningRate: (lr) => calls.push(`lr ${lr.toFixed(6)}`),
    setMomentum: (m) => calls.push(`momentum ${m.toFixed(6)}`),
    predict: async () => new Float32Array(0),
    batchNorm: { layers: 0, moments: async () => [], write: () => undefined },
    syncModel: () => undefined,
    close: async () => undefined,
  };
  const model = denseModel();
  try {
    await runEpochs({
      model,
      steps: engine,
      data: {
        shape,
        labels: ['0', '1'],
        trainSource: source,
        trainPositions: Uint32Array.from(ids.keys()),
        valSource: source,
        valPositions: new Uint32Array(0),
        info: { classCounts: { '0': 5, '1': 5 } } as DataPlan,
      },
      hp: resolveHyperparameters({
        lrSchedule,
        optimizer,
        epochs: 2,
        batchSize: 4,
        learningRate: 0.1,
        preciseBn: false,
      }),
      random: mulberry32(1),
      callbacks: [],
    });
  } finally {
    model.dispose();
  }
  return calls;
}

test('the training loop sets each step’s momentum before it under onecycle, and never otherwise', async () => {
  const schedule: LrSchedule = { name: 'onecycle', total: 6, warmup: 0 };
  const expected = Array.from({ length: 6 }, (_, step) => [
    `momentum ${scheduleMomentum(schedule, step)!.toFixed(6)}`,
    `lr ${(0.1 * scheduleFactor(schedule, step)).toFixed(6)}`,
    'step',
  ]).flat();
  expect(await loopCalls('onecycle')).toEqual(expected);
  expect((await loopCalls('cosine')).filter((c) => c.startsWith('momentum'))).toEqual([]);
});
