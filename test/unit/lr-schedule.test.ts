import { lrScheduleFor, scheduleFactor, type LrSchedule } from '../../src/ml/lr-schedule';

/**
 * The schedules held to PyTorch's (CosineAnnealingLR, LinearLR then CosineAnnealingLR in a
 * SequentialLR, OneCycleLR without momentum cycling), stepped once per batch over 20 steps with a
 * warm-up of 5 where one is given: the factors of a rate of 1, printed once by
 * src/bench/recipe-reference.py (PyTorch 1.13) and kept here.
 */
const TORCH: Record<string, number[]> = {
  cosine: [
    1.0, 0.9938441702975689, 0.9755282581475768, 0.9455032620941839, 0.9045084971874737, 0.8535533905932737,
    0.7938926261462366, 0.7269952498697734, 0.6545084971874737, 0.5782172325201155, 0.5, 0.4217827674798847,
    0.34549150281252633, 0.2730047501302266, 0.2061073738537635, 0.14644660940672627, 0.09549150281252633,
    0.054496737905816106, 0.024471741852423234, 0.006155829702431171,
  ],
  'cosine+warmup': [
    0.2, 0.4, 0.6000000000000001, 0.8, 1.0, 1.0, 0.9890738003669028, 0.9567727288213004, 0.9045084971874737,
    0.8345653031794291, 0.75, 0.6545084971874737, 0.5522642316338268, 0.44773576836617335, 0.34549150281252633,
    0.2500000000000001, 0.16543469682057105, 0.09549150281252632, 0.043227271178699504, 0.010926199633097156,
  ],
  'constant+warmup': [
    0.2, 0.4, 0.6000000000000001, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
  ],
  onecycle: [
    0.040000000000000036, 0.1316718427000253, 0.3716718427000253, 0.6683281572999747, 0.9083281572999747, 1.0,
    0.9874640062350873, 0.9504846320134737, 0.89091617757105, 0.8117456539497631, 0.7169430017913008,
    0.6112620219362893, 0.500002, 0.38874197806371075, 0.28306099820869923, 0.18825834605023697, 0.10908782242895004,
    0.049519367986526286, 0.012539993764912554, 4e-6,
  ],
  'onecycle+warmup': [
    0.040000000000000036, 0.1805887450304573, 0.52, 0.8594112549695427, 1.0, 0.9890738440717014, 0.9567729017303851,
    0.904508879153485, 0.8345659649182164, 0.750001, 0.654509879153485, 0.5522660225769003, 0.4477379774230999,
    0.3454941208465151, 0.2500030000000001, 0.16543803508178376, 0.09549512084651508, 0.04323109826961479,
    0.010930155928298624, 4e-6,
  ],
};

const cases: Array<[string, LrSchedule]> = [
  ['cosine', { name: 'cosine', total: 20, warmup: 0 }],
  ['cosine+warmup', { name: 'cosine', total: 20, warmup: 5 }],
  ['constant+warmup', { name: 'constant', total: 20, warmup: 5 }],
  ['onecycle', { name: 'onecycle', total: 20, warmup: 0 }],
  ['onecycle+warmup', { name: 'onecycle', total: 20, warmup: 5 }],
];

test.each(cases)('%s: every step’s rate as PyTorch’s', (key, schedule) => {
  const got = TORCH[key].map((_, step) => scheduleFactor(schedule, step));
  got.forEach((v, i) => expect(v).toBeCloseTo(TORCH[key][i], 9));
});

test('a constant rate without warm-up is no schedule; warm-up epochs become whole steps', () => {
  expect(lrScheduleFor({ lrSchedule: 'constant', warmupEpochs: 0, epochs: 3 }, 10)).toBeNull();
  expect(lrScheduleFor({ lrSchedule: 'cosine', warmupEpochs: 0.5, epochs: 3 }, 5)).toEqual({
    name: 'cosine',
    total: 15,
    warmup: 3,
  });
});
