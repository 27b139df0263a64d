// The [LOC] box loss of u-LLaVA (HEAD code, models/loss.py): boxes are xyxy, normalised to the padded
// square. l1 = sum |pred - gt| / (n + 1e-8); giou = sum over boxes with x2 >= x1 and y2 >= y1 of
// (1 - GIoU(pred, gt)) / (n + 1e-8), where n counts all boxes (degenerate predictions are left out of
// the GIoU sum, as the official code masks them, but still counted). Weights: ullava.md gives L1 * 1 +
// GIoU * 1.
// Over a batch (perSample given) the official model (models/ullava.py) sums those per-sample values and
// divides by the batch's box count N + 1e-8 -- unlike the mask losses, it does not multiply each sample's
// value back by its n_i, so a box of a sample with n_i boxes weighs 1 / (n_i N), not 1 / N. Found by the
// whole-model PyTorch fixture (test/fixtures/torch/ullava-tiny-head, a sample with two [LOC]s).
import { Tensor, abs, sub, add, mul, div, sum, slice, maximum, minimum, clamp, ge, where, reshape, cast, zeros, noGrad } from '../../../engine/index.js';
import { withTemps } from './scope.js';

export interface BoxLossWeights { l1: number; giou: number }
export const BOX_LOSS_WEIGHTS: BoxLossWeights = { l1: 1, giou: 1 };

export interface BoxLoss { total: Tensor; l1: Tensor; giou: Tensor; numBoxes: number }

/**
 * GIoU of matching rows of two [n, 4] xyxy box sets (f32 [n]), as torch.diag(generalized_box_iou(a, b))
 * of DETR / u-LLaVA. Ground-truth boxes must not be degenerate (zero area gives a division by zero).
 */
export function pairedGiou(a: Tensor, b: Tensor): Tensor {
  return withTemps((tmp) => {
    const lo = (t: Tensor) => tmp(slice(t, 1, 0, 2));
    const hi = (t: Tensor) => tmp(slice(t, 1, 2, 4));
    const area = (wh: Tensor) => tmp(reshape(tmp(mul(tmp(slice(wh, 1, 0, 1)), tmp(slice(wh, 1, 1, 2)))), [wh.shape[0]]));
    const areaA = area(tmp(sub(hi(a), lo(a))));
    const areaB = area(tmp(sub(hi(b), lo(b))));
    const inter = area(tmp(clamp(tmp(sub(tmp(minimum(hi(a), hi(b))), tmp(maximum(lo(a), lo(b))))), 0)));
    const union = tmp(sub(tmp(add(areaA, areaB)), inter));
    const iou = tmp(div(inter, union));
    const hull = area(tmp(clamp(tmp(sub(tmp(maximum(hi(a), hi(b))), tmp(minimum(lo(a), lo(b))))), 0)));
    return sub(iou, tmp(div(tmp(sub(hull, union)), hull)));
  });
}

/**
 * pred, gt: [n, 4] xyxy boxes (pred any float dtype, gt constant). perSample: the boxes of each sample of a
 * batch, in order (summing to n): the official model's batch reduction (see the top of this file); without
 * it, one call of the official bbox_l1_loss / bbox_giou_loss over all n boxes.
 */
export function boxLoss(pred: Tensor, gt: Tensor, weights: BoxLossWeights = BOX_LOSS_WEIGHTS, perSample?: readonly number[]): BoxLoss {
  pred.assertAlive('boxLoss'); gt.assertAlive('boxLoss');
  if (pred.rank !== 2 || pred.shape[1] !== 4 || gt.shape.join() !== pred.shape.join()) {
    throw new RangeError(`boxLoss: predicted [${pred.shape}] and ground-truth [${gt.shape}] boxes must both be [n, 4] (x1, y1, x2, y2)`);
  }
  const n = pred.shape[0];
  if (perSample && (perSample.some((c) => !Number.isInteger(c) || c < 0) || perSample.reduce((a, c) => a + c, 0) !== n)) {
    throw new RangeError(`boxLoss: perSample [${perSample}] must be non-negative counts summing to the ${n} boxes`);
  }
  if (n === 0) {
    const z = () => noGrad(() => zeros([], 'f32', pred.device));
    return { total: z(), l1: z(), giou: z(), numBoxes: 0 };
  }
  return withTemps((tmp) => {
    const p = pred.dtype === 'f32' ? pred : tmp(cast(pred, 'f32'));
    const g = gt.dtype === 'f32' ? gt : tmp(cast(gt, 'f32'));
    // Each box's weight: 1 / (n + 1e-8), or 1 / ((n_i + 1e-8)(N + 1e-8)) per sample i over a batch.
    const boxWeight = perSample ? Float32Array.from(perSample.flatMap((c) => Array<number>(c).fill(1 / ((c + 1e-8) * (n + 1e-8)))))
      : new Float32Array(n).fill(1 / (n + 1e-8));
    const w = tmp(Tensor.fromHost(boxWeight, [n], 'f32', p.device));
    const l1 = mul(tmp(sum(tmp(mul(tmp(sum(tmp(abs(tmp(sub(p, g)))), 1)), w)))), weights.l1);
    // Valid predictions: x2 >= x1 and y2 >= y1. Invalid rows are replaced by the ground truth before the
    // GIoU (so no inf/NaN reaches the backward) and masked out of the sum.
    const okXY = tmp(ge(tmp(slice(p, 1, 2, 4)), tmp(slice(p, 1, 0, 2))));
    const valid = tmp(mul(tmp(slice(okXY, 1, 0, 1)), tmp(slice(okXY, 1, 1, 2))));
    const safe = tmp(where(valid, p, g));
    const terms = tmp(sub(1, tmp(pairedGiou(safe, g))));
    const kept = tmp(where(tmp(reshape(valid, [n])), terms, 0));
    const giou = mul(tmp(sum(tmp(mul(kept, w)))), weights.giou);
    return { total: add(l1, giou), l1, giou, numBoxes: n };
  });
}
