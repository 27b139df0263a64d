// u-LLaVA's losses against PyTorch 1.13 (test/fixtures/torch/losses.json; tolerances: README.md there).
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import * as E from '../../../engine/index.js';
import { tokenCrossEntropy, maskLoss, boxLoss } from '../../../ullava/train/losses.js';
import { loadTorchFixture } from '../../fixtures/torch/load.js';

interface LossFixture {
  token_ce: { hidden_shape: number[]; weight_shape: number[]; hidden: number[]; weight: number[]; labels: number[]; loss: number;
    grad_hidden: number[]; grad_weight: number[] };
  mask: { shapes: number[][]; preds: number[][]; gts: number[][]; total: number; bce: number; dice: number; grads: number[][] };
  box: { n: number; pred: number[]; gt: number[]; l1: number; giou: number; total: number; grad_pred: number[];
    batch: { per_sample: number[]; l1: number; giou: number; grad_pred: number[] } };
}
const fx = loadTorchFixture<LossFixture>('losses.json');

// Both sides compute in f32 with different summation orders: values agree to ~1e-6 relative,
// gradients to ~1e-7 absolute at these magnitudes (<= 1). VALUE/GRAD tolerances leave 10x margin.
const VALUE = { rtol: 1e-5, atol: 1e-6 };
const GRAD = { rtol: 1e-4, atol: 1e-6 };

test('tokenCrossEntropy vs HF LlamaForCausalLM loss (full logits, shift, ignore -100): value and gradients of hidden and lm_head', async () => {
  await E.getDevice();
  const f = fx.token_ce;
  const h = E.Tensor.from(f.hidden, f.hidden_shape).requireGrad();
  const w = E.Tensor.from(f.weight, f.weight_shape).requireGrad();
  const { loss, tokens } = tokenCrossEntropy(h, f.labels, (x) => E.linear(x, w));
  assert.equal(tokens, f.labels.filter((l, i) => l !== -100 && i % f.hidden_shape[1] !== 0).length);
  assertClose([await loss.item()], [f.loss], VALUE);
  E.backward(loss);
  assertClose(await h.grad!.toArray(), f.grad_hidden, { ...GRAD, message: 'grad hidden' });
  assertClose(await w.grad!.toArray(), f.grad_weight, { ...GRAD, message: 'grad lm_head' });
  [h, w, loss].forEach((t) => t.dispose());
});

test('maskLoss vs the official sigmoid_ce_loss / dice_loss combination: total, parts, gradients', async () => {
  await E.getDevice();
  const f = fx.mask;
  const preds = f.preds.map((v, i) => E.Tensor.from(v, f.shapes[i]).requireGrad());
  const gts = f.gts.map((v, i) => E.Tensor.from(v, f.shapes[i]));
  const r = maskLoss(preds, gts);
  assertClose([await r.total.item(), await r.bce.item(), await r.dice.item()], [f.total, f.bce, f.dice], VALUE);
  E.backward(r.total);
  for (let i = 0; i < preds.length; i++) assertClose(await preds[i].grad!.toArray(), f.grads[i], { ...GRAD, message: `grad pred ${i}` });
  [...preds, ...gts, r.total, r.bce, r.dice].forEach((t) => t.dispose());
});

test('boxLoss vs the official bbox_l1_loss + bbox_giou_loss (a degenerate prediction included): parts and gradient', async () => {
  await E.getDevice();
  const f = fx.box;
  const p = E.Tensor.from(f.pred, [f.n, 4]).requireGrad();
  const g = E.Tensor.from(f.gt, [f.n, 4]);
  const r = boxLoss(p, g);
  assertClose([await r.total.item(), await r.l1.item(), await r.giou.item()], [f.total, f.l1, f.giou], VALUE);
  E.backward(r.total);
  assertClose(await p.grad!.toArray(), f.grad_pred, { ...GRAD, message: 'grad pred' });
  [p, g, r.total, r.l1, r.giou].forEach((t) => t.dispose());
});

test('boxLoss over a batch (samples of 2 and 3 boxes) vs the official model\'s reduction: sum of per-sample losses / N', async () => {
  await E.getDevice();
  const f = fx.box, b = f.batch;
  const p = E.Tensor.from(f.pred, [f.n, 4]).requireGrad();
  const g = E.Tensor.from(f.gt, [f.n, 4]);
  const r = boxLoss(p, g, { l1: 1, giou: 1 }, b.per_sample);
  assertClose([await r.l1.item(), await r.giou.item()], [b.l1, b.giou], VALUE);
  E.backward(r.total);
  assertClose(await p.grad!.toArray(), b.grad_pred, { ...GRAD, message: 'grad pred' });
  [p, g, r.total, r.l1, r.giou].forEach((t) => t.dispose());
});
