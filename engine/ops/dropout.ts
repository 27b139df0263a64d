// Dropout: zeroes each element with probability p and scales the rest by 1/(1-p). The mask comes from
// the seeded counter hash, so a step is reproducible; the backward applies the same mask.
import type { Tensor } from '../tensor.js';
import { record } from '../autograd.js';
import { runMap, f32Bits } from './launch.js';
import { HASH_WGSL, nextRandomSeed } from './creation.js';
import { isFloat } from '../dtype.js';

export function dropout(x: Tensor, p: number, training = true, seed?: number): Tensor {
  x.assertAlive('dropout');
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (!isFloat(x.dtype)) throw new TypeError(`dropout: needs a floating tensor, got ${x.dtype}`);
  // Off: a new handle on the same storage (no copy); the gradient passes through.
  if (!training || p === 0) return record('identity', x.retain(), [x], (g) => [g.retain()]);
  const s = seed ?? nextRandomSeed();
  const R = Math.max(1, x.rank);
  let lin = 'idx[0]';
  for (let d = 1; d < R; d++) lin = `(${lin}) * shape(${d}u) + idx[${d}]`;
  const body = (v: string) => `let i = ${lin}; return select(0.0, ${v} * sc_f(1), rand_f(sc_u(0), i) >= sc_f(2));`;
  const scalars = [s, f32Bits(1 / (1 - p)), f32Bits(p)];
  const out = runMap({ label: 'dropout', body: body('ld_x(idx)'), helpers: HASH_WGSL, inputs: [{ name: 'x', tensor: x }],
    outShape: x.shape, outDtype: x.dtype, scalars });
  return record('dropout', out, [x], (g) => [runMap({ label: 'dropout', body: body('ld_x(idx)'), helpers: HASH_WGSL,
    inputs: [{ name: 'x', tensor: g }], outShape: g.shape, outDtype: g.dtype, scalars })]);
}
