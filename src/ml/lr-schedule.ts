import type { LrScheduleName } from './recipe-options';

/**
 * The learning rate step by step, as a factor of the rate given (reduce-on-plateau lowers that
 * rate; the factor still applies). Steps count from 0 over the whole run, `total` of them, the
 * first `warmup` rising linearly to 1 ((t + 1)/warmup: no step at rate 0). The closed forms are
 * PyTorch's, stepped once per batch:
 * - constant: 1 after the warm-up;
 * - cosine: CosineAnnealingLR (η_min 0) over the steps after the warm-up: ½(1 + cos(π·t'/T'));
 * - onecycle: OneCycleLR with its defaults (div_factor 25, final_div_factor 10⁴, cosine
 *   annealing, two phases), rising over the warm-up when one is given, else over 30% of the steps
 *   (its pct_start); it has its own rise, so the linear warm-up does not apply on top. It also
 *   cycles the momentum inversely to the rate (its cycle_momentum, on by default): see
 *   scheduleMomentum.
 * test/unit/lr-schedule.test.ts holds them to PyTorch's values.
 */
export interface LrSchedule {
  name: LrScheduleName;
  /** Steps in the whole run (epochs × batches per epoch). */
  total: number;
  /** Steps of warm-up (warmupEpochs × batches per epoch, rounded). */
  warmup: number;
}

const ONECYCLE_DIV = 25;
const ONECYCLE_FINAL_DIV = 1e4;
const ONECYCLE_PCT_START = 0.3;
/** OneCycleLR's base_momentum and max_momentum (its defaults). */
const ONECYCLE_BASE_MOMENTUM = 0.85;
const ONECYCLE_MAX_MOMENTUM = 0.95;

const annealCos = (start: number, end: number, pct: number) =>
  end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);

export function scheduleFactor(s: LrSchedule, step: number): number {
  if (s.name === 'onecycle') return oneCycle(s, step);
  if (step < s.warmup) return (step + 1) / s.warmup;
  if (s.name === 'constant') return 1;
  const span = s.total - s.warmup;
  return span > 0 ? annealCos(1, 0, Math.min(1, (step - s.warmup) / span)) : 1;
}

/** Where step `step` lies in OneCycleLR's two phases: rising (0) or annealing (1), and how far. */
function cyclePoint(s: LrSchedule, step: number): { phase: 0 | 1; pct: number } {
  const riseEnd = (s.warmup > 0 ? s.warmup : ONECYCLE_PCT_START * s.total) - 1;
  const t = Math.min(step, s.total - 1);
  const pct = (from: number, to: number) => (to > from ? (t - from) / (to - from) : 1);
  return t <= riseEnd ? { phase: 0, pct: pct(0, riseEnd) } : { phase: 1, pct: pct(riseEnd, s.total - 1) };
}

function oneCycle(s: LrSchedule, step: number): number {
  const initial = 1 / ONECYCLE_DIV;
  const min = initial / ONECYCLE_FINAL_DIV;
  const { phase, pct } = cyclePoint(s, step);
  return phase === 0 ? annealCos(initial, 1, pct) : annealCos(1, min, pct);
}

/**
 * The momentum of step `step` where the schedule sets it, else undefined (the optimizer keeps its
 * own). OneCycleLR's: from 0.95 down to 0.85 while the rate rises, back to 0.95 while it anneals,
 * on the same cosine. It replaces SGD's momentum or Adam's β₁ (torch sets group['momentum'] or
 * betas[0]); the optimizers without one (sgd, rmsprop, adagrad, adadelta) ignore it.
 */
export function scheduleMomentum(s: LrSchedule | null, step: number): number | undefined {
  if (s?.name !== 'onecycle') return undefined;
  const { phase, pct } = cyclePoint(s, step);
  return phase === 0
    ? annealCos(ONECYCLE_MAX_MOMENTUM, ONECYCLE_BASE_MOMENTUM, pct)
    : annealCos(ONECYCLE_BASE_MOMENTUM, ONECYCLE_MAX_MOMENTUM, pct);
}

/** The schedule of a run: none (null) when the rate stays as given throughout. */
export function lrScheduleFor(
  hp: { lrSchedule: LrScheduleName; warmupEpochs: number; epochs: number },
  stepsPerEpoch: number,
): LrSchedule | null {
  if (hp.lrSchedule === 'constant' && hp.warmupEpochs === 0) return null;
  return {
    name: hp.lrSchedule,
    total: hp.epochs * stepsPerEpoch,
    warmup: Math.round(hp.warmupEpochs * stepsPerEpoch),
  };
}
