import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose, assertRejects } from '../../harness/assert.js';
import { checkOp } from '../../harness/opcheck.js';
import * as E from '../../../engine/index.js';
import * as R from '../../ref/nn.js';
import { NDArray, permute } from '../../ref/ndarray.js';

test('concat along first, middle and last axes', async () => {
  await checkOp({ name: 'concat axis 0', shapes: [[[2, 3], [1, 3], [4, 3]]],
    gpu: (a, b, c) => E.concat([a, b, c], 0), ref: (a: NDArray, b: NDArray, c: NDArray) => R.concat([a, b, c], 0) });
  await checkOp({ name: 'concat axis 1', shapes: [[[2, 3, 2], [2, 1, 2]], [[3, 5, 1], [3, 2, 1]]],
    gpu: (a, b) => E.concat([a, b], 1), ref: (a: NDArray, b: NDArray) => R.concat([a, b], 1) });
  await checkOp({ name: 'concat axis -1', shapes: [[[3, 3], [3, 5]], [[7], [1]]],
    gpu: (a, b) => E.concat([a, b], -1), ref: (a: NDArray, b: NDArray) => R.concat([a, b], -1) });
});

test('concat of more inputs than one dispatch binds, and of a transposed view', async () => {
  const shapes = Array.from({ length: 9 }, (_, i) => [2, 1 + (i % 3)]);
  await checkOp({ name: 'concat 9', shapes: [shapes], dtypes: ['f32', 'bf16'],
    gpu: (...xs) => E.concat(xs, 1), ref: (...xs: NDArray[]) => R.concat(xs, 1) });
  await checkOp({ name: 'concat transposed', shapes: [[[3, 2], [2, 2]]], dtypes: ['f32'],
    gpu: (a, b) => E.concat([E.transpose(a), b], 1), ref: (a: NDArray, b: NDArray) =>
      R.concat([permute(a, [1, 0]), b], 1) });
});

test('stack along a new axis', () => checkOp({ name: 'stack', shapes: [[[2, 3], [2, 3], [2, 3]], [[5], [5], [5]]],
  gpu: (a, b, c) => E.stack([a, b, c], 1), ref: (a: NDArray, b: NDArray, c: NDArray) => R.stack([a, b, c], 1) }));

test('split by chunk size and by sizes (views, with gradients)', async () => {
  await checkOp({ name: 'split chunk', shapes: [[[7, 3]]], gpu: (x) => {
    const parts = E.split(x, 3, 0);
    assert.equal(parts.map((p) => p.shape[0]), [3, 3, 1]);
    return E.concat([E.mul(parts[2], 2), parts[0]], 0);
  }, ref: (x: NDArray) => R.concat([NDArray.from([1, 3], x.data.slice(18, 21).map((v) => 2 * v)),
    NDArray.from([3, 3], x.data.slice(0, 9))], 0) });
  await E.getDevice();
  const x = E.arange(0, 10);
  const [a, b, c] = E.split(E.reshape(x, [2, 5]), [1, 0, 4], 1);
  assertClose(await a.toArray(), [0, 5]);
  assert.equal([...b.shape], [2, 0]);
  assertClose(await c.toArray(), [1, 2, 3, 4, 6, 7, 8, 9]);
  await assertRejects(() => E.split(x, [3, 3], 0), /do not add up/);
});

test('pad (constant, F.pad order, negative pads crop)', async () => {
  await checkOp({ name: 'pad last', shapes: [[[3, 4]], [[5]]], gpu: (x) => E.pad(x, [1, 2], 0.5),
    ref: (x: NDArray) => R.pad(x, [1, 2], 0.5) });
  await checkOp({ name: 'pad two axes', shapes: [[[2, 3, 4]]], gpu: (x) => E.pad(x, [0, 1, 2, 1]),
    ref: (x: NDArray) => R.pad(x, [0, 1, 2, 1]) });
  await checkOp({ name: 'pad crop', shapes: [[[3, 5]]], gpu: (x) => E.pad(x, [-1, 2, 1, -2], -3),
    ref: (x: NDArray) => R.pad(x, [-1, 2, 1, -2], -3) });
  const p = E.pad(E.Tensor.from([1, 2], [2], 'i32'), [2, 1], 7);
  assert.equal([...(await p.toArray())], [7, 7, 1, 2, 7]);
});

test('concat promotes dtypes and checks shapes', async () => {
  await E.getDevice();
  const c = E.concat([E.Tensor.from([1, 2], [2], 'bf16'), E.Tensor.from([3], [1], 'f32')]);
  assert.equal(c.dtype, 'f32');
  assertClose(await c.toArray(), [1, 2, 3]);
  await assertRejects(() => E.concat([E.zeros([2, 3]), E.zeros([3, 3])], 1), /differ outside axis 1/);
});
