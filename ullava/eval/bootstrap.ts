// The bootstrap 95% interval of a metric: resample the evaluated samples with replacement (B times, from
// a seeded generator, so the same data and seed give the same interval on every machine), recompute the
// metric on each resample, and take the 2.5th and 97.5th percentiles (the percentile method; quantiles
// interpolated linearly as numpy's default). The unit resampled is the sample (an image with its
// expressions), never the pixel: for cIoU a sample contributes its (sum I, sum U) pair, so a resample's
// cIoU is the ratio of the resampled sums.
import { makeRng } from '../chat/sampling.js';

/** mulberry32 (the generator sampling uses): uniform in [0, 1). */
export const seededRandom = (seed: number): (() => number) => makeRng(seed);

/** The q-quantile (0..1) of sorted values, linear interpolation between order statistics (numpy "linear"). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q, lo = Math.floor(h), hi = Math.ceil(h);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export interface BootstrapOptions {
  /** Resamples (default 1000). */
  resamples?: number;
  /** Seed of the resampling (default 0). */
  seed?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
}

export interface BootstrapInterval { low: number; high: number; level: number; resamples: number; seed: number }

/**
 * The percentile bootstrap interval of statistic(units). `statistic` receives a resample (units drawn
 * with replacement, as many as there are). Resamples on which the statistic is not finite (e.g. no masks
 * drawn) are left out; null when no resample gives a finite value (no units at all).
 */
export function bootstrapInterval<T>(units: readonly T[], statistic: (resample: T[]) => number, o: BootstrapOptions = {}): BootstrapInterval | null {
  const resamples = o.resamples ?? 1000, seed = o.seed ?? 0, level = o.level ?? 0.95;
  if (!(Number.isInteger(resamples) && resamples >= 1)) throw new RangeError(`bootstrapInterval: resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrapInterval: level must be in (0, 1), got ${level}`);
  const n = units.length;
  if (n === 0) return null;
  const rand = seededRandom(seed);
  const values: number[] = [];
  const draw: T[] = new Array(n);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) draw[i] = units[Math.floor(rand() * n)];
    const v = statistic(draw);
    if (Number.isFinite(v)) values.push(v);
  }
  if (values.length === 0) return null;
  values.sort((x, y) => x - y);
  const alpha = (1 - level) / 2;
  return { low: quantileSorted(values, alpha), high: quantileSorted(values, 1 - alpha), level, resamples, seed };
}
