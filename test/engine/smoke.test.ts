import * as assert from 'uvu/assert';
import { test } from '../harness/test.js';
import { assertClose } from '../harness/assert.js';
import { getDevice, Tensor, add, mul, sum, exp, backward, reshape, transpose, slice, cast, randn } from '../../engine/index.js';

test('smoke: add, mul, sum, backward', async () => {
  await getDevice();
  const a = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]).requireGrad();
  const b = Tensor.from([10, 20, 30], [3]).requireGrad();
  const y = mul(add(a, b), a);
  assertClose(await y.toArray(), [11, 44, 99, 56, 125, 216]);
  const s = sum(y);
  assertClose(await s.toArray(), [551]);
  backward(s);
  // d/da (a+b)*a = 2a + b ; d/db = sum_rows a
  assertClose(await a.grad!.toArray(), [12, 24, 36, 18, 30, 42]);
  assertClose(await b.grad!.toArray(), [5, 7, 9]);
  const t = transpose(reshape(a, [3, 2]));
  assert.equal([...t.shape], [2, 3]);
  assertClose(await t.toArray(), [1, 3, 5, 2, 4, 6]);
  assertClose(await slice(t, 1, 1).toArray(), [3, 5, 4, 6]);
  const e = exp(Tensor.from([0, 1]));
  assertClose(await e.toArray(), [1, Math.E], { rtol: 1e-6 });
  const bf = cast(Tensor.from([1.00390625, 3, 1e-3]), 'bf16');
  assertClose(await bf.toArray(), [1, 3, 0.00099945068359375]);
  const r = randn([1000], 0, 1, { seed: 1 });
  const v = await r.toArray();
  let m = 0; for (const x of v) m += x / v.length;
  if (Math.abs(m) > 0.15) throw new Error(`randn mean ${m}`);
});
