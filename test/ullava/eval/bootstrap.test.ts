// test/ullava/eval/bootstrap.test.ts: the bootstrap interval (ullava/eval/bootstrap.ts): reproducible from
// its seed, resampling whole (I, U) pairs for cIoU, and covering a known mean about 95% of the time.
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { bootstrapInterval, quantileSorted, seededRandom } from '../../../ullava/eval/bootstrap.js';
import { cumulativeIoU, type MaskCounts } from '../../../ullava/eval/metrics.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('quantiles interpolate linearly between order statistics (numpy "linear")', () => {
  assert.is(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
  assert.is(quantileSorted([1, 2, 3, 4], 0), 1);
  assert.is(quantileSorted([1, 2, 3, 4], 1), 4);
  assert.ok(Math.abs(quantileSorted([0, 10], 0.025) - 0.25) < 1e-12);
});

test('the interval is reproducible: same seed same interval, another seed another, and it brackets the estimate', () => {
  const rand = seededRandom(3);
  const xs = Array.from({ length: 50 }, () => rand());
  const a = bootstrapInterval(xs, mean, { seed: 1 })!, b = bootstrapInterval(xs, mean, { seed: 1 })!, c = bootstrapInterval(xs, mean, { seed: 2 })!;
  assert.equal(a, b);
  assert.ok(a.low !== c.low || a.high !== c.high, 'another seed draws other resamples');
  assert.ok(a.low < mean(xs) && mean(xs) < a.high, `${a.low} < ${mean(xs)} < ${a.high}`);
  assert.equal([a.level, a.resamples, a.seed], [0.95, 1000, 1]);
  // Identical units: every resample has the same value.
  const flat = bootstrapInterval([0.5, 0.5, 0.5], mean)!;
  assert.equal([flat.low, flat.high], [0.5, 0.5]);
  assert.is(bootstrapInterval([], mean), null);
});

test('cIoU resamples (I, U) pairs: two records give the interval [cIoU(AA), cIoU(BB)] exactly', () => {
  // A = (1, 2), B = (3, 4): a resample is AA (0.5, prob 1/4), AB or BA (4/6), or BB (0.75, prob 1/4);
  // so the 2.5th and 97.5th percentiles are 0.5 and 0.75.
  const units: MaskCounts[][] = [[{ intersection: 1, union: 2 }], [{ intersection: 3, union: 4 }]];
  const seen = new Set<number>();
  const ci = bootstrapInterval(units, (rs) => { const v = cumulativeIoU(rs.flat()); seen.add(v); return v; }, { seed: 5 })!;
  assert.equal([ci.low, ci.high], [0.5, 0.75]);
  // The ratio of sums (2/3), not the mean of the ratios (0.625), is what a mixed resample gives.
  assert.equal([...seen].sort(), [0.5, 4 / 6, 0.75]);
});

test('coverage: the 95% interval of a Bernoulli(0.3) mean from 200 draws covers 0.3 in about 95% of 300 data sets', () => {
  const rand = seededRandom(11);
  let covered = 0;
  const sets = 300;
  for (let d = 0; d < sets; d++) {
    const xs = Array.from({ length: 200 }, () => (rand() < 0.3 ? 1 : 0));
    const ci = bootstrapInterval(xs, mean, { seed: d, resamples: 400 })!;
    if (ci.low <= 0.3 && 0.3 <= ci.high) covered++;
  }
  // Binomial(300, 0.95) has a standard deviation of 3.8 data sets: 0.90..0.99 is more than 3 of them.
  assert.ok(covered / sets > 0.9 && covered / sets < 0.99, `coverage ${covered / sets}`);
});
