import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import { checkOp } from '../../harness/opcheck.js';
import * as E from '../../../engine/index.js';
import { NDArray } from '../../ref/ndarray.js';
import { tokenCrossEntropy, maskLoss, boxLoss, combineLosses, supervisedPositions } from '../../../ullava/train/losses.js';
import { tokenCrossEntropyRef, maskLossRef, boxLossRef } from '../../ref/ullava-losses.js';

const scalar = (v: number) => NDArray.from([], [v]);

// Two sequences of 6: prompt tokens (-100) then answers; the last label of each row is never a target of
// anything but the previous position.
const LABELS = [-100, -100, 3, 1, -100, 4, -100, 0, 6, -100, -100, 2];

test('tokenCrossEntropy: shifted, -100 ignored, mean over supervised tokens; the head runs on those rows only (vs float64, finite differences)', async () => {
  await E.getDevice();
  const { rows, targets } = supervisedPositions(LABELS, 2, 6);
  assert.equal(Array.from(rows), [1, 2, 4, 6, 7, 10]);
  assert.equal(Array.from(targets), [3, 1, 4, 0, 6, 2]);
  await checkOp({
    name: 'tokenCrossEntropy', shapes: [[[2, 6, 5], [7, 5]]], dtypes: ['f32', 'bf16'],
    gpu: (h, w) => {
      const { loss, tokens } = tokenCrossEntropy(h, LABELS, (x) => {
        assert.equal(x.shape, [6, 5], 'the head sees only the supervised rows');
        return E.linear(x, w);
      });
      assert.equal(tokens, 6);
      return loss;
    },
    ref: (h, w) => scalar(tokenCrossEntropyRef(h, w, LABELS)),
  });
  const h = E.zeros([1, 3, 2]);
  const none = tokenCrossEntropy(h, [-100, -100, -100], () => { throw new Error('head must not run'); });
  assert.equal(none.tokens, 0);
  assert.equal(await none.loss.item(), 0);
  let err: unknown;
  try { tokenCrossEntropy(h, [0, 1, 9], (x) => E.zeros([x.shape[0], 4])); } catch (e) { err = e; }
  assert.ok(err instanceof RangeError && /outside the vocabulary of 4/.test(err.message), String(err));
  err = undefined;
  try { tokenCrossEntropy(h, [0, 1], (x) => x); } catch (e) { err = e; }
  assert.ok(err instanceof RangeError && /2 labels for batch 1 x sequence 3/.test(err.message), String(err));
  h.dispose(); none.loss.dispose();
});

const GT1 = [1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, /* mask 2 */ 0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0];
const GT2 = [1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1];

test('maskLoss: 2 BCE + 0.5 Dice with the official per-mask normalisation over two samples (vs float64, finite differences)', async () => {
  await E.getDevice();
  const spec = (vals: number[]) => ({ values: vals, grad: false });
  for (const part of ['total', 'bce', 'dice'] as const) {
    await checkOp({
      name: `maskLoss ${part}`, shapes: [[[2, 3, 4], [2, 3, 4], [1, 5, 3], [1, 5, 3]]], dtypes: ['f32'],
      inputs: [{ init: 'uniform', range: [-4, 4] }, spec(GT1), { init: 'uniform', range: [-4, 4] }, spec(GT2)],
      gpu: (p1, g1, p2, g2) => {
        const r = maskLoss([p1, p2], [g1, g2]);
        assert.equal(r.numMasks, 3);
        return r[part];
      },
      ref: (p1, g1, p2, g2) => scalar(maskLossRef([p1, p2], [g1, g2])[part]),
      tol: { f32: { atol: 1e-5, rtol: 1e-4 } },
    });
  }
  const empty = maskLoss([E.zeros([0, 4, 4])], [E.zeros([0, 4, 4])]);
  assert.equal([await empty.total.item(), empty.numMasks], [0, 0]);
});

// Valid maps: sample 1 ignores 5 pixels over its 2 masks (one mask keeps only 8 of 12), sample 2 ignores none but passes a map.
const V1 = [1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, /* mask 2 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1];
const V2 = new Array(15).fill(1);

test('maskLoss with valid maps leaves ignored pixels out of the BCE mean and the Dice sums (vs float64, finite differences)', async () => {
  await E.getDevice();
  const spec = (vals: number[]) => ({ values: vals, grad: false });
  for (const part of ['bce', 'dice'] as const) {
    await checkOp({
      name: `maskLoss ignore ${part}`, shapes: [[[2, 3, 4], [2, 3, 4], [2, 3, 4], [1, 5, 3], [1, 5, 3], [1, 5, 3]]], dtypes: ['f32'],
      inputs: [{ init: 'uniform', range: [-4, 4] }, spec(GT1), spec(V1), { init: 'uniform', range: [-4, 4] }, spec(GT2), spec(V2)],
      gpu: (p1, g1, v1, p2, g2, v2) => maskLoss([p1, p2], [g1, g2], undefined, [v1, v2])[part],
      ref: (p1, g1, v1, p2, g2, v2) => scalar(maskLossRef([p1, p2], [g1, g2], undefined, [v1, v2])[part]),
      tol: { f32: { atol: 1e-5, rtol: 1e-4 } },
    });
  }
  // An ignored pixel's logit has no gradient and does not change the loss.
  const p = E.Tensor.fromHost(Float32Array.from([3, -2, 5, 1]), [1, 2, 2], 'f32').requireGrad();
  const r = maskLoss([p], [E.Tensor.fromHost(Float32Array.from([1, 0, 0, 1]), [1, 2, 2], 'f32')], undefined, [E.Tensor.fromHost(Float32Array.from([1, 1, 0, 1]), [1, 2, 2], 'f32')]);
  E.backward(r.total);
  assert.is((await p.grad!.toArray())[2], 0);
});

// Box 2 of the prediction is degenerate (x2 < x1): counted in n, left out of the GIoU sum.
const PRED = [0.1, 0.2, 0.5, 0.6, 0.3, 0.3, 0.9, 0.8, 0.7, 0.1, 0.4, 0.5, 0.05, 0.4, 0.35, 0.95];
const GT = [0.15, 0.1, 0.45, 0.7, 0.2, 0.35, 0.8, 0.9, 0.3, 0.2, 0.6, 0.6, 0.5, 0.5, 0.7, 0.9];

test('boxLoss: L1 + GIoU over [LOC] boxes, degenerate predictions masked out of GIoU (vs float64, finite differences)', async () => {
  await E.getDevice();
  for (const part of ['total', 'l1', 'giou'] as const) {
    await checkOp({
      name: `boxLoss ${part}`, shapes: [[[4, 4], [4, 4]]], dtypes: ['f32'],
      inputs: [{ values: PRED }, { values: GT, grad: false }],
      gpu: (p, g) => boxLoss(p, g)[part],
      ref: (p, g) => scalar(boxLossRef(p, g)[part]),
      tol: { f32: { atol: 1e-5, rtol: 1e-4 } },
    });
  }
  const p = E.Tensor.from(PRED, [4, 4]), g = E.Tensor.from(GT, [4, 4]);
  const b = boxLoss(p, g);
  const total = combineLosses({ ce: E.Tensor.from([1.5], []), box: b });
  assertClose([await total.total.item()], [1.5 + boxLossRef(NDArray.from([4, 4], PRED), NDArray.from([4, 4], GT)).total], { rtol: 1e-5 });
  assert.equal(Object.keys(total.parts).sort(), ['ce', 'giou', 'l1']);
  [p, g, b.total, b.l1, b.giou, total.total, total.parts.ce!].forEach((t) => t.dispose());
});
