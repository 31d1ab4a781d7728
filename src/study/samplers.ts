import crypto from 'node:crypto';
import type { Dimension, Direction, Params, Space, TrialHistory } from './types';

/**
 * Where the next trial's parameters come from. A grid is enumerated once, when the study is
 * created; random and tpe suggest one trial at a time, from a generator seeded by (seed, trial
 * number), so a trial's draw does not depend on which worker made it.
 */

/** Completed trials TPE learns from: the latest ones, so a suggestion's cost stays bounded as the study grows. */
export const TPE_HISTORY = 200;
/** Below this many completed trials TPE draws at random (Optuna's n_startup_trials). */
export const TPE_STARTUP = 10;
const TPE_CANDIDATES = 24;

/** The grid's cells in a fixed order (the space's key order, the last key varying fastest). */
export function gridParams(space: Space): Params[] {
  let cells: Params[] = [{}];
  for (const [key, dim] of Object.entries(space)) {
    if (dim.kind !== 'choice') throw new Error(`a grid takes lists only ("${key}" is a range)`);
    cells = cells.flatMap((c) => dim.values.map((v) => ({ ...c, [key]: v })));
  }
  return cells;
}

/** A [0, 1) generator for one trial of a study: mulberry32 seeded from (seed, number). */
export function trialRandom(seed: number, number: number): () => number {
  let a = crypto.createHash('sha256').update(`${seed}:${number}`).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A dimension's values as points on a line where a range is uniform (log ranges in log space). */
const toLine = (d: Dimension, v: number) => (d.kind === 'log' ? Math.log(v) : v);
const fromLine = (d: Dimension, x: number) => (d.kind === 'log' ? Math.exp(x) : d.kind === 'int' ? Math.round(x) : x);
function bounds(d: Exclude<Dimension, { kind: 'choice' }>): [number, number] {
  return d.kind === 'log'
    ? [Math.log(d.low), Math.log(d.high)]
    : d.kind === 'int'
      ? [d.low - 0.5, d.high + 0.5]
      : [d.low, d.high];
}

/**
 * A drawn value within its range: whole for an int range, else six significant digits (a
 * learning rate of 0.00123457 reads as one, and names a run as one).
 */
function withinRange(d: Dimension, v: number): number {
  if (d.kind === 'choice') return v;
  const value = d.kind === 'int' ? Math.round(v) : Number(v.toPrecision(6));
  return Math.min(d.high, Math.max(d.low, value));
}

function sampleUniform(d: Dimension, random: () => number): string | number {
  if (d.kind === 'choice') return d.values[Math.floor(random() * d.values.length)];
  const [lo, hi] = bounds(d);
  return withinRange(d, fromLine(d, lo + random() * (hi - lo)));
}

export function randomParams(space: Space, random: () => number): Params {
  return Object.fromEntries(Object.entries(space).map(([k, d]) => [k, sampleUniform(d, random)]));
}

/** A standard normal draw (Box–Muller). */
function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** The error function (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

/**
 * A Parzen estimator over one numeric dimension: a Gaussian at each observed point, truncated to
 * the range and renormalised (so that the ends are not starved of density), its width shrinking
 * as points accumulate (Scott's rule over the range), and a uniform prior over the range weighted
 * as one point, so that an unexplored region keeps some density.
 */
class Parzen {
  readonly sigma: number;
  readonly #mass: number[];
  constructor(
    readonly points: number[],
    readonly lo: number,
    readonly hi: number,
  ) {
    this.sigma = Math.max((hi - lo) * Math.pow(points.length + 1, -1 / 5) * 0.25, (hi - lo) * 1e-3);
    const cdf = (x: number, m: number) => 0.5 * (1 + erf((x - m) / (this.sigma * Math.SQRT2)));
    this.#mass = points.map((m) => Math.max(cdf(hi, m) - cdf(lo, m), 1e-12));
  }
  sample(random: () => number): number {
    const i = Math.floor(random() * (this.points.length + 1));
    if (i === this.points.length) return this.lo + random() * (this.hi - this.lo);
    // Rejection within the range (the truncated Gaussian), clamped after a few tries.
    let x = this.points[i] + this.sigma * normal(random);
    for (let k = 0; k < 8 && (x < this.lo || x > this.hi); k++) x = this.points[i] + this.sigma * normal(random);
    return Math.min(this.hi, Math.max(this.lo, x));
  }
  logDensity(x: number): number {
    const n = this.points.length + 1;
    let p = 1 / (this.hi - this.lo);
    this.points.forEach((m, i) => {
      p += Math.exp(-0.5 * ((x - m) / this.sigma) ** 2) / (this.sigma * Math.sqrt(2 * Math.PI) * this.#mass[i]);
    });
    return Math.log(p / n);
  }
}

/** Optuna's default split: the best 10% (at most 25) are "good". */
function goodCount(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

function tpeDimension(
  d: Dimension,
  key: string,
  good: TrialHistory[],
  bad: TrialHistory[],
  random: () => number,
): string | number {
  if (d.kind === 'choice') {
    // Categorical: counts plus a prior of one per value; the best ratio of the two among candidates.
    const weights = (trials: TrialHistory[]) =>
      d.values.map((v) => 1 + trials.filter((t) => t.params[key] === v).length);
    const l = weights(good);
    const g = weights(bad);
    const lSum = l.reduce((a, b) => a + b, 0);
    const gSum = g.reduce((a, b) => a + b, 0);
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < TPE_CANDIDATES; c++) {
      let r = random() * lSum;
      let i = 0;
      while (r >= l[i] && i < l.length - 1) r -= l[i++];
      const score = Math.log(l[i] / lSum) - Math.log(g[i] / gSum);
      if (score > bestScore) [best, bestScore] = [i, score];
    }
    return d.values[best];
  }
  const [lo, hi] = bounds(d);
  const line = (trials: TrialHistory[]) =>
    trials
      .map((t) => Number(t.params[key]))
      .filter(Number.isFinite)
      .map((v) => toLine(d, v));
  const l = new Parzen(line(good), lo, hi);
  const g = new Parzen(line(bad), lo, hi);
  let best = l.sample(random);
  let bestScore = -Infinity;
  for (let c = 0; c < TPE_CANDIDATES; c++) {
    const x = c === 0 ? best : l.sample(random);
    const score = l.logDensity(x) - g.logDensity(x);
    if (score > bestScore) [best, bestScore] = [x, score];
  }
  return withinRange(d, fromLine(d, best));
}

/**
 * The tree-structured Parzen estimator (Bergstra et al. 2011, as Optuna's TPESampler without its
 * multivariate option): the completed trials split into good and bad by value, each dimension drawn
 * where good trials are dense and bad ones sparse. `history` is the latest completed trials, at
 * most TPE_HISTORY of them.
 */
export function tpeParams(space: Space, history: TrialHistory[], direction: Direction, random: () => number): Params {
  const scored = history.filter((t) => t.value !== null && Number.isFinite(t.value));
  if (scored.length < TPE_STARTUP) return randomParams(space, random);
  const sorted = [...scored].sort((a, b) => (direction === 'maximize' ? b.value! - a.value! : a.value! - b.value!));
  const n = goodCount(sorted.length);
  const good = sorted.slice(0, n);
  const bad = sorted.slice(n);
  return Object.fromEntries(Object.entries(space).map(([k, d]) => [k, tpeDimension(d, k, good, bad, random)]));
}
