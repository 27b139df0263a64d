import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import { checkOp } from '../../harness/opcheck.js';
import * as E from '../../../engine/index.js';
import { NDArray, reduce, permute, reshape, sum as rsum, map } from '../../ref/ndarray.js';

test('reshape, permute, transpose, slice, expand with gradients', async () => {
  await checkOp({ name: 'reshape', shapes: [[[2, 3, 4]]], gpu: (x) => E.reshape(x, [4, -1]), ref: (x: NDArray) => reshape(x, [4, 6]) });
  await checkOp({ name: 'permute', shapes: [[[2, 3, 5]]], gpu: (x) => E.contiguous(E.permute(x, [2, 0, 1])), ref: (x: NDArray) => permute(x, [2, 0, 1]) });
  await checkOp({ name: 'transpose', shapes: [[[3, 7]]], gpu: (x) => E.mul(E.transpose(x), 2), ref: (x: NDArray) => map(permute(x, [1, 0]), (v) => 2 * v) });
  await checkOp({ name: 'slice', shapes: [[[4, 9]]], gpu: (x) => E.slice(E.slice(x, 1, 2, -3), 0, 1, 3),
    ref: (x: NDArray) => NDArray.fill([2, 4], ([i, j]) => x.at([i + 1, j + 2])) });
  await checkOp({ name: 'expand', shapes: [[[3, 1]]], gpu: (x) => E.mul(E.expand(x, [2, 3, 4]), 1),
    ref: (x: NDArray) => NDArray.fill([2, 3, 4], ([, j]) => x.at([j, 0])) });
  await checkOp({ name: 'reshape of a transposed view copies', shapes: [[[3, 4]]], gpu: (x) => E.reshape(E.transpose(x), [12]),
    ref: (x: NDArray) => reshape(permute(x, [1, 0]), [12]) });
});

test('views share storage; unsqueeze/squeeze keep strides', async () => {
  await E.getDevice();
  const x = E.Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  const t = E.transpose(x);
  assert.ok(t.storage === x.storage, 'transpose must not copy');
  assert.ok(!t.isContiguous());
  const u = E.unsqueeze(t, 1);
  assert.equal([...u.shape], [3, 1, 2]);
  assertClose(await u.toArray(), [1, 4, 2, 5, 3, 6]);
  assertClose(await E.squeeze(u).toArray(), [1, 4, 2, 5, 3, 6]);
  const s = E.slice(x, 1, 1, 2);
  assert.ok(s.storage === x.storage, 'slice must not copy');
  assertClose(await s.toArray(), [2, 5]);
  for (const z of [x, t, u, s]) z.dispose();
});

const rshapes = [[[7]], [[3, 5]], [[2, 3, 65]]];
test('sum, mean over all and over axes', async () => {
  await checkOp({ name: 'sum all', shapes: rshapes, gpu: (x) => E.sum(x), ref: (x: NDArray) => reduce(x, [...x.shape.keys()], rsum) });
  await checkOp({ name: 'sum last keep', shapes: rshapes, gpu: (x) => E.sum(x, -1, { keepDims: true }), ref: (x: NDArray) => reduce(x, [-1], rsum, true) });
  await checkOp({ name: 'mean axes 0,2', shapes: [[[3, 4, 5]]], gpu: (x) => E.mean(x, [0, 2]), ref: (x: NDArray) => reduce(x, [0, 2], (v) => rsum(v) / v.length) });
  await checkOp({ name: 'sum of transposed view', shapes: [[[4, 6]]], gpu: (x) => E.sum(E.transpose(x), 1), ref: (x: NDArray) => reduce(x, [0], rsum) });
});

test('max, min (gradient shared among ties), logsumexp, var', async () => {
  await checkOp({ name: 'max', shapes: rshapes, gpu: (x) => E.max(x, -1), ref: (x: NDArray) => reduce(x, [-1], (v) => Math.max(...v)), grad: 'f32' });
  await checkOp({ name: 'min', shapes: [[[4, 9]]], gpu: (x) => E.min(x, 0), ref: (x: NDArray) => reduce(x, [0], (v) => Math.min(...v)), grad: 'f32' });
  await checkOp({ name: 'logsumexp', shapes: rshapes, gpu: (x) => E.logsumexp(x, -1),
    ref: (x: NDArray) => reduce(x, [-1], (v) => { const m = Math.max(...v); return m + Math.log(rsum(v.map((a) => Math.exp(a - m)))); }) });
  await checkOp({ name: 'var', shapes: rshapes, gpu: (x) => E.variance(x, -1),
    ref: (x: NDArray) => reduce(x, [-1], (v) => { const m = rsum(v) / v.length; return rsum(v.map((a) => (a - m) ** 2)) / (v.length - 1); }) });
  await E.getDevice();
  const t = E.Tensor.from([1, 5, 5, 2], [4]).requireGrad();
  const m = E.max(t);
  E.backward(m);
  assertClose(await t.grad!.toArray(), [0, 0.5, 0.5, 0]);
  assertClose(await E.logsumexp(E.Tensor.from([-Infinity, -Infinity]), 0).toArray(), [-Infinity]);
  assertClose(await E.logsumexp(E.Tensor.from([1000, 1000]), 0).toArray(), [1000 + Math.log(2)], { rtol: 1e-6 });
});

test('argmax, argmin pick the first of ties and return i32', async () => {
  await E.getDevice();
  const x = E.Tensor.from([3, 7, 7, 1, 0, -2, 5, -2], [2, 4]);
  const a = E.argmax(x, 1), b = E.argmin(x, 1), c = E.argmax(x, 0);
  assert.equal(a.dtype, 'i32');
  assert.equal([...(await a.toArray())], [1, 2]);
  assert.equal([...(await b.toArray())], [3, 1]);
  assert.equal([...(await c.toArray())], [0, 0, 0, 0]);
  const bf = E.cast(E.Tensor.from([0.1, 0.9, 0.3]), 'bf16');
  assert.equal([...(await E.argmax(bf, 0).toArray())], [1]);
});

test('reductions reject bad axes with the op and shape in the message', async () => {
  await E.getDevice();
  const x = E.Tensor.from([1, 2, 3], [3]);
  let msg = '';
  try { E.sum(x, 2); } catch (e) { msg = (e as Error).message; }
  assert.ok(/sum: axis 2 is out of range for rank 1/.test(msg), msg);
  try { E.add(E.Tensor.from([1, 2]), x); } catch (e) { msg = (e as Error).message; }
  assert.ok(/add: shapes \[2\] and \[3\] cannot be broadcast/.test(msg), msg);
});


test('reductions with many outputs take the one-invocation-per-output kernel and agree with the CPU', async () => {
  await E.getDevice();
  const [R, C] = [5, 9000];
  const vals = Float32Array.from({ length: R * C }, (_, i) => Math.sin(i * 0.731) * 3);
  vals[7] = vals[C + 7]; // a tie for argmax/argmin in column 7
  const x = E.Tensor.fromHost(vals, [R, C], 'f32');
  const col = (j: number) => Array.from({ length: R }, (_, i) => vals[i * C + j]);
  const ref = (f: (v: number[]) => number) => Array.from({ length: C }, (_, j) => f(col(j)));
  const lse = (v: number[]) => { const m = Math.max(...v); return m + Math.log(rsum(v.map((a) => Math.exp(a - m)))); };
  const vr = (v: number[]) => { const m = rsum(v) / v.length; return rsum(v.map((a) => (a - m) ** 2)) / (v.length - 1); };
  assertClose(await E.sum(x, 0).toArray(), ref(rsum), { atol: 1e-5 });
  assertClose(await E.max(x, 0).toArray(), ref((v) => Math.max(...v)));
  assertClose(await E.logsumexp(x, 0).toArray(), ref(lse), { atol: 1e-5 });
  assertClose(await E.variance(x, 0).toArray(), ref(vr), { atol: 1e-4 });
  const am = await E.argmax(x, 0).toArray();
  assert.equal([...am].slice(0, 10), ref((v) => v.indexOf(Math.max(...v))).slice(0, 10));
  // Summing a size-1 broadcast axis is a reshape, not a reduction.
  const g = E.Tensor.from([1, 2, 3, 4, 5, 6], [1, 2, 3]);
  const s = E.sumToShape(g, [2, 3]);
  assert.ok(s.storage === g.storage, 'no kernel for size-1 axes');
  assertClose(await s.toArray(), [1, 2, 3, 4, 5, 6]);
});

test('max, min, argmax, argmin propagate NaN as PyTorch (the first NaN wins), in both reduction kernels', async () => {
  // Rows of 4 take the workgroup kernel; 3000 rows of 2 take the one-invocation-per-output kernel.
  const t = E.Tensor.from([1, NaN, 2, NaN, -1, 3, 0, 5], [2, 4]);
  assert.equal(Array.from(await E.max(t, 1).toArray()).map(String), ['NaN', '5']);
  assert.equal(Array.from(await E.min(t, 1).toArray()).map(String), ['NaN', '-1']);
  assert.equal(Array.from(await E.argmax(t, 1).toArray()), [1, 3]);
  assert.equal(Array.from(await E.argmin(t, 1).toArray()), [1, 0]);
  const big = E.Tensor.from(Array.from({ length: 5000 }, (_, i) => (i === 1234 || i === 4000 ? NaN : i)), [5000]);
  assert.ok(Number.isNaN((await E.max(big).toArray())[0]), 'max over 5000 with a NaN');
  assert.equal(Array.from(await E.argmax(big, 0).toArray()), [1234]);
  const many = E.Tensor.from(Array.from({ length: 6000 }, (_, i) => (i === 7 ? NaN : i % 5)), [3000, 2]);
  const mx = await E.max(many, 1).toArray();
  assert.ok(Number.isNaN(mx[3]) && mx[0] === 1 && mx[2999] === Math.max(5998 % 5, 5999 % 5), 'per-row max, row 3 NaN');
  assert.equal((await E.argmin(many, 1).toArray())[3], 1);
});
