import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose, assertRejects } from '../../harness/assert.js';
import { checkOp } from '../../harness/opcheck.js';
import * as E from '../../../engine/index.js';
import { matmul as refMatmul, permute, zip, NDArray, reshape as refReshape } from '../../ref/ndarray.js';

const T = (a: NDArray) => permute(a, [...Array(a.rank - 2).keys(), a.rank - 1, a.rank - 2]);

/** torch.matmul semantics for 1-D operands, on the reference. */
function refMatmulAny(a: NDArray, b: NDArray): NDArray {
  const a2 = a.rank === 1 ? refReshape(a, [1, a.shape[0]]) : a;
  const b2 = b.rank === 1 ? refReshape(b, [b.shape[0], 1]) : b;
  const c = refMatmul(a2, b2);
  let shape = [...c.shape];
  if (b.rank === 1) shape = shape.slice(0, -1);
  if (a.rank === 1) shape.splice(shape.length - (b.rank === 1 ? 1 : 2), 1);
  return refReshape(c, shape);
}

test('matmul 2-D, sizes off the tile', () => checkOp({ name: 'matmul', gpu: (a, b) => E.matmul(a, b), ref: refMatmul,
  shapes: [[[1, 1], [1, 1]], [[7, 13], [13, 5]], [[3, 20], [20, 9]]] }));

test('matmul 65x33x17 (several tiles, forward)', () => checkOp({ name: 'matmul', gpu: (a, b) => E.matmul(a, b), ref: refMatmul,
  shapes: [[[65, 33], [33, 17]], [[70, 130], [130, 66]]], grad: false }));

test('matmul batched with broadcast batch dims', () => checkOp({ name: 'bmm', gpu: (a, b) => E.matmul(a, b), ref: refMatmul,
  dtypes: ['f32', 'bf16'], shapes: [[[2, 3, 4], [4, 5]], [[2, 1, 3, 4], [3, 4, 2]], [[5, 3], [2, 3, 4]]] }));

test('matmul with 1-D operands (torch.matmul)', () => checkOp({ name: 'matmul1d', gpu: (a, b) => E.matmul(a, b), ref: refMatmulAny,
  dtypes: ['f32', 'bf16'], shapes: [[[6], [6]], [[6], [6, 3]], [[4, 6], [6]], [[2, 4, 6], [6]], [[6], [2, 6, 3]]] }));

test('matmul transA / transB through strides', () => checkOp({ name: 'matmulT', dtypes: ['f32', 'f16'],
  gpu: (a, b) => E.matmul(a, b, { transA: true, transB: true }), ref: (a, b) => refMatmul(T(a), T(b)),
  shapes: [[[13, 7], [5, 13]], [[2, 9, 4], [2, 3, 9]]] }));

test('matmul of a permuted view (no copy) and an offset slice', async () => {
  await E.getDevice();
  const va = Array.from({ length: 3 * 8 * 5 }, (_, i) => Math.sin(i));
  const vb = Array.from({ length: 6 * 4 }, (_, i) => Math.cos(i));
  const a = E.Tensor.from(va, [3, 8, 5]);
  const b = E.Tensor.from(vb, [6, 4]);
  const ap = E.permute(a, [2, 0, 1]); // [5, 3, 8]: strides not row-major
  const bs = E.slice(E.transpose(b), 1, 1, 5); // transpose [4, 6], columns 1..5: [4, 4] at an offset
  const as = E.slice(ap, 2, 2, 6); // [5, 3, 4]
  const c = E.matmul(as, bs);
  assert.equal([...c.shape], [5, 3, 4]);
  const refA = permute(NDArray.from([3, 8, 5], va), [2, 0, 1]);
  const refAs = NDArray.fill([5, 3, 4], ([i, j, k]) => refA.at([i, j, k + 2]));
  const refB = T(NDArray.from([6, 4], vb));
  const refBs = NDArray.fill([4, 4], ([i, j]) => refB.at([i, j + 1]));
  assertClose(await c.toArray(), refMatmul(refAs, refBs).data, { atol: 1e-5, rtol: 1e-5 });
});

test('matmul naive variant agrees with the tiled one', async () => {
  await E.getDevice();
  const a = E.randn([2, 37, 29], 0, 1, { seed: 3 });
  const b = E.randn([29, 41], 0, 1, { seed: 4 });
  const t = E.matmulF32(a, b, 'tiled');
  const n = E.matmulF32(a, b, 'naive');
  assertClose(await t.toArray(), await n.toArray(), { atol: 1e-5, rtol: 1e-5 });
});

test('matmul shape errors name the op and shapes', async () => {
  await E.getDevice();
  const a = E.zeros([2, 3]), b = E.zeros([4, 5]);
  await assertRejects(() => E.matmul(a, b), /matmul: inner dimensions differ: \[2,3\] x \[4,5\]/);
  await assertRejects(() => E.matmul(E.zeros([2, 3, 4]), E.zeros([3, 4, 2])), /cannot be broadcast/);
  await assertRejects(() => E.matmul(E.zeros([2], 'i32'), E.zeros([2], 'i32')), /floating/);
});

test('linear with and without bias, batched input', () => checkOp({ name: 'linear', dtypes: ['f32', 'bf16'],
  gpu: (x, w, bias) => E.linear(x, w, bias),
  ref: (x, w, bias) => zip((u, v) => u + v, refMatmul(x, T(w)), bias),
  shapes: [[[2, 3, 5], [4, 5], [4]], [[1, 7], [3, 7], [3]]] }));

test('linear without bias, 1-D input', () => checkOp({ name: 'linear', dtypes: ['f32'],
  gpu: (x, w) => E.linear(x, w), ref: (x, w) => refMatmulAny(x, T(w)), shapes: [[[5], [3, 5]]] }));
