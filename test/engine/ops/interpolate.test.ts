import { test } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import { checkOp } from '../../harness/opcheck.js';
import * as E from '../../../engine/index.js';
import { interpolateBilinear as ref } from '../../ref/interpolate.js';
import type { NDArray } from '../../ref/ndarray.js';

const cases: [string, number[], [number, number], boolean][] = [
  ['upsample 2x', [1, 2, 4, 5], [8, 10], false],
  ['upsample by odd factors', [2, 1, 3, 4], [7, 9], false],
  ['downsample (no antialias)', [1, 2, 9, 11], [4, 3], false],
  ['mixed up/down, 1-pixel axis', [1, 3, 1, 12], [3, 5], false],
  ['to 1x1', [1, 1, 5, 6], [1, 1], false],
  ['align_corners up', [1, 2, 4, 3], [7, 8], true],
  ['align_corners down, to 1 row', [1, 1, 6, 7], [1, 4], true],
];

for (const [name, shape, size, align] of cases) {
  test(`interpolate bilinear ${name}`, () => checkOp({ name: `interp ${name}`, shapes: [[shape]],
    dtypes: ['f32', 'bf16'],
    gpu: (x) => E.interpolateBilinear(x, size, { alignCorners: align }), ref: (x: NDArray) => ref(x, size, align) }));
}

test('interpolate bilinear in f16, non-contiguous input', () => checkOp({ name: 'interp f16', shapes: [[[1, 6, 5, 2]]], dtypes: ['f16', 'f32'],
  gpu: (x) => E.interpolateBilinear(E.permute(x, [0, 3, 1, 2]), [9, 4]),
  ref: (x: NDArray) => ref(permute4(x), [9, 4]) }));

function permute4(x: NDArray): NDArray {
  const [n, h, w, c] = x.shape;
  return (x.constructor as typeof import('../../ref/ndarray.js').NDArray).fill([n, c, h, w], ([a, b, i, j]) => x.at([a, i, j, b]));
}

test('interpolate bilinear: large upsample (SAM mask 4x) matches reference', async () => {
  await E.getDevice();
  const vals = Array.from({ length: 2 * 16 * 16 }, (_, i) => Math.sin(i * 0.37));
  const x = E.Tensor.from(vals, [1, 2, 16, 16]).requireGrad();
  const y = E.interpolateBilinear(x, [64, 64]);
  const { NDArray } = await import('../../ref/ndarray.js');
  const xr = NDArray.from([1, 2, 16, 16], vals);
  assertClose(await y.toArray(), ref(xr, [64, 64]).data, { atol: 1e-5, rtol: 1e-5 });
  // The adjoint of the resize: <y, g> = <x, dx> for every x, so dx summed over ones equals the per-pixel weight sum.
  E.backward(E.sum(y));
  const dx = await x.grad!.toArray();
  let total = 0; for (const v of dx) total += v;
  assertClose([total], [2 * 64 * 64], { rtol: 1e-5 });
});
