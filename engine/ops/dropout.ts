// Dropout: zeroes each element with probability p and scales the rest by 1/(1-p). The mask comes from
// the seeded counter hash (kernels/random.ts), so a step is reproducible; the backward applies the same mask.
import type { Tensor } from '../tensor.js';
import { record } from '../autograd.js';
import { runMap, f32Bits } from './launch.js';
import { nextRandomSeed } from './creation.js';
import { isFloat } from '../dtype.js';
import { dropoutBody } from '../../kernels/random.js';

export function dropout(x: Tensor, p: number, training = true, seed?: number): Tensor {
  x.assertAlive('dropout');
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (!isFloat(x.dtype)) throw new TypeError(`dropout: needs a floating tensor, got ${x.dtype}`);
  // Off: a new handle on the same storage (no copy); the gradient passes through.
  if (!training || p === 0) return record('identity', x.retain(), [x], (g) => [g.retain()]);
  const kernel = dropoutBody(Math.max(1, x.rank));
  const scalars = [seed ?? nextRandomSeed(), f32Bits(1 / (1 - p)), f32Bits(p)];
  const out = runMap({ kernel, inputs: [{ name: 'x', tensor: x }], outShape: x.shape, outDtype: x.dtype, scalars });
  return record('dropout', out, [x], (g) => [runMap({ kernel, inputs: [{ name: 'x', tensor: g }], outShape: g.shape, outDtype: g.dtype, scalars })]);
}
