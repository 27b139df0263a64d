import { test } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import { checkOp } from '../../harness/opcheck.js';
import * as E from '../../../engine/index.js';
import * as R from '../../ref/nn.js';
import type { NDArray } from '../../ref/ndarray.js';

const shapes = [[[7]], [[3, 5]], [[2, 3, 4]], [[2, 130]], [[1, 1]]];

test('softmax along the last axis', () => checkOp({ name: 'softmax', shapes,
  gpu: (x) => E.softmax(x), ref: (x: NDArray) => R.softmax(x) }));

test('log_softmax along the last axis', () => checkOp({ name: 'log_softmax', shapes,
  gpu: (x) => E.logSoftmax(x), ref: (x: NDArray) => R.logSoftmax(x) }));

test('softmax and log_softmax along a middle / first axis', async () => {
  await checkOp({ name: 'softmax axis 1', shapes: [[[2, 5, 3]], [[3, 4, 2]]], gpu: (x) => E.softmax(x, 1),
    ref: (x: NDArray) => R.softmax(x, 1) });
  await checkOp({ name: 'log_softmax axis 0', shapes: [[[4, 3, 2]]], gpu: (x) => E.logSoftmax(x, 0),
    ref: (x: NDArray) => R.logSoftmax(x, 0) });
});

test('softmax of a non-contiguous view and large logits', async () => {
  await E.getDevice();
  const x = E.Tensor.from([1000, 1001, 1002, -1000, 0, 1000], [3, 2]);
  const y = E.softmax(E.transpose(x), -1);
  const e = (a: number[]) => { const m = Math.max(...a); const s = a.reduce((p, c) => p + Math.exp(c - m), 0); return a.map((v) => Math.exp(v - m) / s); };
  assertClose(await y.toArray(), [...e([1000, 1002, 0]), ...e([1001, -1000, 1000])], { atol: 1e-6 });
  const ls = E.logSoftmax(E.Tensor.from([0, -Infinity, 0], [1, 3]));
  assertClose(await ls.toArray(), [-Math.LN2, -Infinity, -Math.LN2], { atol: 1e-6 });
});
