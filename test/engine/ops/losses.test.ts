import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import { checkOp } from '../../harness/opcheck.js';
import * as E from '../../../engine/index.js';
import * as R from '../../ref/nn.js';
import type { NDArray } from '../../ref/ndarray.js';

const ceShapes = [[[4, 5], [4]], [[7, 3], [7]], [[2, 3, 6], [2, 3]]];

for (const reduction of ['mean', 'sum', 'none'] as const) {
  test(`crossEntropy reduction ${reduction} with ignored targets`, () => checkOp({ name: `crossEntropy ${reduction}`,
    shapes: reduction === 'mean' ? ceShapes : ceShapes.slice(0, 2),
    // Targets in [-1, 3): -1 is the ignore index here.
    inputs: [{ init: 'uniform', range: [-3, 3] }, { init: 'int', range: [-1, 3], dtype: 'i32' }],
    gpu: (x, t) => E.crossEntropy(x, t, { ignoreIndex: -1, reduction }),
    ref: (x: NDArray, t: NDArray) => R.crossEntropy(x, t, -1, reduction) }));
}

test('crossEntropy: default ignoreIndex -100, all ignored gives NaN (mean), stable for large logits', async () => {
  await E.getDevice();
  const x = E.Tensor.from([1000, 0, -1000, 2, 1, 0], [2, 3]).requireGrad();
  const l = E.crossEntropy(x, E.Tensor.from([1, -100], [2], 'i32'));
  assertClose(await l.toArray(), [1000], { rtol: 1e-6 });
  E.backward(l);
  assertClose(await x.grad!.toArray(), [1, -1, 0, 0, 0, 0], { atol: 1e-6 });
  const none = E.crossEntropy(x, E.Tensor.from([-100, -100], [2], 'i32'));
  assert.ok(Number.isNaN(await none.item()), 'all ignored: mean is NaN');
  const s = E.crossEntropy(x, E.Tensor.from([-100, -100], [2], 'i32'), { reduction: 'sum' });
  assert.equal(await s.item(), 0);
  const bf = E.crossEntropy(E.Tensor.from([0, 0], [1, 2], 'bf16'), E.Tensor.from([0], [1], 'i32'));
  assert.equal(bf.dtype, 'bf16');
  assertClose(await bf.toArray(), [Math.LN2], { rtol: 1e-2 });
});

for (const reduction of ['mean', 'sum', 'none'] as const) {
  test(`binaryCrossEntropyWithLogits reduction ${reduction} (gradients of logits and targets)`, () => checkOp({
    name: `bce ${reduction}`, shapes: [[[3, 5], [3, 5]], [[2, 7], [7]], [[9], [9]]],
    inputs: [{ init: 'uniform', range: [-4, 4] }, { init: 'uniform', range: [0, 1] }],
    gpu: (x, y) => E.binaryCrossEntropyWithLogits(x, y, { reduction }),
    ref: (x: NDArray, y: NDArray) => R.bceWithLogits(x, y, reduction) }));
}

test('binaryCrossEntropyWithLogits is stable for large |x|', async () => {
  await E.getDevice();
  const l = E.binaryCrossEntropyWithLogits(E.Tensor.from([100, -100, 100, 0]), E.Tensor.from([1, 0, 0, 1]), { reduction: 'none' });
  assertClose(await l.toArray(), [0, 0, 100, Math.LN2], { atol: 1e-6 });
});

test('the nn ops free every intermediate (no scope): forward + backward leaves live memory flat', async () => {
  const dev = await E.getDevice();
  await dev.sync();
  const base = dev.memory().liveBytes;
  const made: E.Tensor[] = [];
  const m = <T extends E.Tensor | E.Tensor[]>(t: T): T => { made.push(...(Array.isArray(t) ? t : [t])); return t; };
  const x = m(E.randn([4, 6], 0, 1, { seed: 3 }).requireGrad());
  const w = m(E.ones([6]).requireGrad());
  const b = m(E.zeros([6], 'bf16').requireGrad());
  const emb = m(E.randn([5, 6], 0, 1, { seed: 4, dtype: 'bf16' }).requireGrad());
  const ids = m(E.Tensor.from([0, 4, 4, 2], [4], 'i32'));
  const tgt = m(E.Tensor.from([1, -100, 5, 0], [4], 'i32'));
  const h = m([E.rmsNorm(x, w), E.layerNorm(x, 6, w, b), E.embedding(emb, ids), E.softmax(x, 0)]);
  const cat = m(E.concat([m(E.pad(h[0], [1, -1])), m(E.concat(m(E.split(h[1], 4, 1)), 1)), h[2], h[3]], 0));
  const parts = m([E.crossEntropy(cat, m(E.concat([tgt, tgt, tgt, tgt]))),
    E.binaryCrossEntropyWithLogits(m(E.logSoftmax(x)), m(E.sigmoid(x)), { reduction: 'sum' }),
    E.sum(m(E.scatterAdd(x, 0, m(E.Tensor.from([3, 1, 0, 0, 1, 1], [1, 6], 'i32')), m(E.mul(x, 2)))))]);
  const loss = m(E.add(m(E.add(parts[0], parts[1])), parts[2]));
  E.backward(loss);
  for (const t of [x, w, b, emb]) assert.ok(t.grad !== null, 'every leaf got a gradient');
  await dev.sync();
  E.noGrad(() => { for (const t of made) t.dispose(); });
  assert.equal(dev.memory().liveBytes, base, 'live bytes after forward, backward and dispose');
});
