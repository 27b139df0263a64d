import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose, assertRejects } from '../../harness/assert.js';
import { checkOp } from '../../harness/opcheck.js';
import * as E from '../../../engine/index.js';
import * as R from '../../ref/nn.js';
import type { NDArray } from '../../ref/ndarray.js';

test('gather along each axis (index smaller than src, repeated indices)', async () => {
  await checkOp({ name: 'gather axis 1', shapes: [[[3, 5], [3, 7]], [[2, 4, 3], [2, 6, 2]]],
    inputs: [{}, { init: 'int', range: [0, 4], dtype: 'i32' }],
    gpu: (s, i) => E.gather(s, 1, i), ref: (s: NDArray, i: NDArray) => R.gather(s, 1, i) });
  await checkOp({ name: 'gather axis 0', shapes: [[[4, 3], [5, 2]]], inputs: [{}, { init: 'int', range: [0, 4], dtype: 'i32' }],
    gpu: (s, i) => E.gather(s, 0, i), ref: (s: NDArray, i: NDArray) => R.gather(s, 0, i) });
  await checkOp({ name: 'gather axis -1 1-D', shapes: [[[9], [13]]], inputs: [{}, { init: 'int', range: [0, 9], dtype: 'i32' }],
    gpu: (s, i) => E.gather(s, -1, i), ref: (s: NDArray, i: NDArray) => R.gather(s, -1, i) });
});

test('indexSelect along axis 0 and 1', async () => {
  await checkOp({ name: 'indexSelect axis 0', shapes: [[[5, 3], [7]], [[4, 2, 3], [3]]],
    inputs: [{}, { init: 'int', range: [0, 4], dtype: 'i32' }],
    gpu: (s, i) => E.indexSelect(s, 0, i), ref: (s: NDArray, i: NDArray) => R.indexSelect(s, 0, i) });
  await checkOp({ name: 'indexSelect axis 1', shapes: [[[3, 5], [6]]], inputs: [{}, { init: 'int', range: [0, 5], dtype: 'i32' }],
    gpu: (s, i) => E.indexSelect(s, 1, i), ref: (s: NDArray, i: NDArray) => R.indexSelect(s, 1, i) });
});

test('embedding with ids of any shape (repeated ids accumulate gradients)', () => checkOp({ name: 'embedding',
  shapes: [[[6, 5], [2, 7]], [[11, 3], [4]], [[3, 8], [2, 2, 3]]], inputs: [{}, { init: 'int', range: [0, 3], dtype: 'i32' }],
  gpu: (w, i) => E.embedding(w, i), ref: (w: NDArray, i: NDArray) => R.embedding(w, i) }));

test('scatterAdd with collisions, src larger than index', async () => {
  await checkOp({ name: 'scatterAdd axis 0', shapes: [[[3, 4], [5, 4], [6, 5]], [[2, 3], [7, 3], [7, 3]]],
    inputs: [{}, { init: 'int', range: [0, 2], dtype: 'i32' }, {}],
    gpu: (b, i, s) => E.scatterAdd(b, 0, i, s), ref: (b: NDArray, i: NDArray, s: NDArray) => R.scatterAdd(b, 0, i, s) });
  await checkOp({ name: 'scatterAdd axis -1', shapes: [[[2, 3, 5], [2, 3, 9], [2, 3, 9]]],
    inputs: [{}, { init: 'int', range: [0, 5], dtype: 'i32' }, {}],
    gpu: (b, i, s) => E.scatterAdd(b, -1, i, s), ref: (b: NDArray, i: NDArray, s: NDArray) => R.scatterAdd(b, -1, i, s) });
});

test('out-of-range indices are ignored (gather gives 0, scatter drops) and checkIndices reports them', async () => {
  await E.getDevice();
  const src = E.Tensor.from([1, 2, 3, 4], [4]);
  const idx = E.Tensor.from([3, -1, 4, 0, 100], [5], 'i32');
  assertClose(await E.indexSelect(src, 0, idx).toArray(), [4, 0, 0, 1, 0]);
  const w = E.Tensor.from([1, 2, 3, 4, 5, 6], [3, 2]);
  const e = E.embedding(w, E.Tensor.from([2, 7, -100], [3], 'i32'));
  assert.equal([...e.shape], [3, 2]);
  assertClose(await e.toArray(), [5, 6, 0, 0, 0, 0]);
  const s = E.scatterAdd(E.zeros([3]), 0, E.Tensor.from([0, 3, -2, 2, 2], [5], 'i32'), E.Tensor.from([1, 10, 100, 1000, 5], [5]));
  assertClose(await s.toArray(), [1, 0, 1005]);
  await assertRejects(() => E.checkIndices(idx, 4, 'embedding'), /index -1 at position 1 is out of range \[0, 4\)/);
  await E.checkIndices(E.Tensor.from([0, 3], [2], 'i32'), 4);
  await assertRejects(() => E.gather(src, 0, E.Tensor.from([0], [1])), /index must be i32/);
});

test('scatter-add of many colliding values (float atomics)', async () => {
  await E.getDevice();
  const n = 20000;
  const idx = E.Tensor.from(Array.from({ length: n }, (_, i) => i % 3), [n], 'i32');
  const src = E.ones([n]);
  const out = E.scatterAdd(E.zeros([3]), 0, idx, src);
  assertClose(await out.toArray(), [6667, 6667, 6666]);
  const w = E.ones([3, 2]).requireGrad();
  const y = E.sum(E.embedding(w, idx));
  E.backward(y);
  assertClose(await w.grad!.toArray(), [6667, 6667, 6667, 6667, 6666, 6666]);
});
