// The generator's random numbers: one small, well-mixed stream per sample, seeded by the sample's own seed
// alone (not by its position in a run), so a sample is the same whatever --n and whatever else is generated.
import { splitmix32 } from '../../train/loader.js';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Integer in [lo, hi] (both included). */
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  /** An index drawn with the given (non-negative, not all zero) weights. */
  weighted(weights: readonly number[]): number;
  chance(p: number): boolean;
  shuffle<T>(xs: T[]): T[];
}

/** A stream for `seed` (any non-negative integer below 2^53; the low and high words are mixed in). */
export function rngFor(seed: number, salt = 0): Rng {
  const lo = seed >>> 0, hi = Math.floor(seed / 4294967296) >>> 0;
  const next = splitmix32((Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi + 0x7f4a7c15, 0x85ebca77) ^ Math.imul(salt + 1, 0xc2b2ae3d)) >>> 0);
  const r: Rng = {
    next,
    uniform: (a, b) => a + (b - a) * next(),
    int: (a, b) => a + Math.floor(next() * (b - a + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    weighted: (w) => {
      const total = w.reduce((a, b) => a + b, 0);
      let u = next() * total;
      for (let i = 0; i < w.length; i++) { u -= w[i]; if (u < 0) return i; }
      return w.length - 1;
    },
    chance: (p) => next() < p,
    shuffle: (xs) => {
      for (let i = xs.length - 1; i > 0; i--) { const j = Math.floor(next() * (i + 1)); [xs[i], xs[j]] = [xs[j], xs[i]]; }
      return xs;
    },
  };
  return r;
}
