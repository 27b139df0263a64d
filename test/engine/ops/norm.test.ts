import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose, assertRejects } from '../../harness/assert.js';
import { checkOp } from '../../harness/opcheck.js';
import * as E from '../../../engine/index.js';
import * as R from '../../ref/nn.js';
import type { NDArray } from '../../ref/ndarray.js';

test('layerNorm with weight and bias (gradients of x, weight, bias)', () => checkOp({ name: 'layerNorm',
  shapes: [[[3, 5], [5], [5]], [[2, 3, 7], [7], [7]], [[1, 33], [33], [33]]],
  gpu: (x, w, b) => E.layerNorm(x, null, w, b),
  ref: (x: NDArray, w: NDArray, b: NDArray) => R.layerNorm(x, 1, w, b, 1e-5) }));

test('layerNorm without affine, over two trailing axes, large eps', () => checkOp({ name: 'layerNorm 2 axes',
  shapes: [[[2, 3, 4]], [[5, 2]]],
  gpu: (x) => E.layerNorm(x, x.shape.slice(-2), null, null, 0.1),
  ref: (x: NDArray) => R.layerNorm(x, 2, null, null, 0.1) }));

test('layerNorm over two axes with weight and bias of that shape', () => checkOp({ name: 'layerNorm 2 axes affine',
  shapes: [[[3, 2, 3], [2, 3], [2, 3]]], gpu: (x, w, b) => E.layerNorm(x, [2, 3], w, b),
  ref: (x: NDArray, w: NDArray, b: NDArray) => R.layerNorm(x, 2, w, b, 1e-5) }));

test('rmsNorm with and without weight', async () => {
  await checkOp({ name: 'rmsNorm', shapes: [[[3, 5], [5]], [[2, 2, 9], [9]], [[1, 65], [65]]],
    gpu: (x, w) => E.rmsNorm(x, w), ref: (x: NDArray, w: NDArray) => R.rmsNorm(x, w, 1e-6) });
  await checkOp({ name: 'rmsNorm no weight', shapes: [[[4, 6]]], gpu: (x) => E.rmsNorm(x, null, 1e-2),
    ref: (x: NDArray) => R.rmsNorm(x, null, 1e-2) });
});

test('norms keep the dtype; bf16 input with f32 weight gives f32 (promotion)', async () => {
  await E.getDevice();
  const x = E.Tensor.from([1, 2, 3, 4], [2, 2], 'bf16');
  assert.equal(E.layerNorm(x).dtype, 'bf16');
  assert.equal(E.rmsNorm(x).dtype, 'bf16');
  const y = E.rmsNorm(x, E.Tensor.from([2, 1], [2], 'f32'));
  assert.equal(y.dtype, 'f32');
  const r = (a: number, b: number) => 1 / Math.sqrt((a * a + b * b) / 2 + 1e-6);
  assertClose(await y.toArray(), [2 * r(1, 2), 2 * r(1, 2), 6 * r(3, 4), 4 * r(3, 4)], { rtol: 1e-2 });
});

test('shape and dtype errors are thrown up front and name the op', async () => {
  const dev = await E.getDevice();
  const x = E.zeros([2, 3]), w2 = E.zeros([2]), t3 = E.zeros([3], 'i32'), i2 = E.zeros([2], 'i32');
  const i33 = E.zeros([3, 3], 'i32');
  const dispatches = dev.dispatchCount;
  await assertRejects(() => E.layerNorm(x, [2]), /layerNorm: normalized shape \[2\]/);
  await assertRejects(() => E.rmsNorm(x, w2), /rmsNorm: weight \[2\] must be \[3\]/);
  await assertRejects(() => E.crossEntropy(x, t3), /crossEntropy: targets \[3\]/);
  await assertRejects(() => E.crossEntropy(x, w2), /targets must be i32/);
  await assertRejects(() => E.gather(x, 0, i2), /gather: index \[2\] must have the rank/);
  await assertRejects(() => E.scatterAdd(x, 1, i33, x), /scatterAdd: index \[3,3\] must fit/);
  await assertRejects(() => E.softmax(i2), /softmax: needs a floating tensor/);
  await assertRejects(() => E.pad(x, [1]), /pad: pads \[1\]/);
  assert.equal(dev.dispatchCount, dispatches, 'nothing was encoded');
});
