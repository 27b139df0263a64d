// The segmentation loss of u-LLaVA (and LISA): sigmoid cross-entropy and Dice between predicted mask
// logits and ground-truth masks, with the official normalisation. Per sample i with n_i masks:
//   bce_i  = sum over masks of (mean over pixels of BCE-with-logits) / (n_i + 1e-8)
//   dice_i = sum over masks of (1 - (2 sum(s/1000 * y) + 1e-6) / (sum(s/1000) + sum(y/1000) + 1e-6)) / (n_i + 1e-8)
// with s = sigmoid(logits); then bce = wBce * sum_i(bce_i * n_i) / (N + 1e-8), same for dice, N = sum n_i.
// Ignored pixels (label maps' 255, given as a 0/1 `valid` map per sample) are left out: the BCE is the mean
// over the valid pixels, and Dice sums over them only. (The official code has no ignore: its semantic
// targets are `label == class_id`, which counts ignored pixels as background.)
import { Tensor, binaryCrossEntropyWithLogits, sigmoid, mean, sum, mul, div, add, sub, reshape, cast, zeros, noGrad } from '../../../engine/index.js';
import { withTemps } from './scope.js';

export const DICE_SCALE = 1000;
export const DICE_EPS = 1e-6;

export interface MaskLossWeights { bce: number; dice: number }
/** u-LLaVA's stage II weights (ullava.md): 2 * BCE + 0.5 * Dice. */
export const MASK_LOSS_WEIGHTS: MaskLossWeights = { bce: 2, dice: 0.5 };

export interface MaskLoss {
  /** wBce * bce + wDice * dice (0-d f32). */
  total: Tensor;
  /** The weighted parts, as the official code reports them. */
  bce: Tensor;
  dice: Tensor;
  numMasks: number;
}

function checkPair(pred: Tensor, gt: Tensor, i: number): void {
  pred.assertAlive('maskLoss'); gt.assertAlive('maskLoss');
  if (pred.rank !== 3 || gt.shape.join() !== pred.shape.join()) {
    throw new RangeError(`maskLoss: sample ${i}: predicted logits [${pred.shape}] and ground truth [${gt.shape}] must both be [masks, H, W]`);
  }
}

/** Per-sample sums over masks of the mean BCE and of the Dice loss (0-d f32 each), from f32 [n, H * W]; v: 0/1 valid pixels or null. */
function sampleTerms(x: Tensor, y: Tensor, v: Tensor | null, tmp: (t: Tensor) => Tensor): [Tensor, Tensor] {
  const bceAll = tmp(binaryCrossEntropyWithLogits(x, y, { reduction: 'none' }));
  const bce = v ? sum(tmp(div(tmp(sum(tmp(mul(bceAll, v)), 1)), tmp(add(tmp(sum(v, 1)), 1e-8))))) : sum(tmp(mean(bceAll, 1)));
  const sScaled = v ? tmp(mul(tmp(div(tmp(sigmoid(x)), DICE_SCALE)), v)) : tmp(div(tmp(sigmoid(x)), DICE_SCALE));
  const numerator = tmp(mul(tmp(sum(tmp(mul(sScaled, y)), 1)), 2));
  const denominator = tmp(add(tmp(sum(sScaled, 1)), tmp(sum(tmp(div(y, DICE_SCALE)), 1))));
  const ratio = tmp(div(tmp(add(numerator, DICE_EPS)), tmp(add(denominator, DICE_EPS))));
  const dice = sum(tmp(sub(1, ratio)));
  return [bce, dice];
}

/**
 * preds[i]: mask logits [n_i, H_i, W_i] (any float dtype); gts[i]: ground truth of the same shape
 * (0/1 floats, 0 where ignored). Samples with no mask contribute nothing; a batch with none gives constant zeros.
 * valid[i] (optional, same shape, 0/1): the pixels counted; null or absent: all.
 */
export function maskLoss(preds: readonly Tensor[], gts: readonly Tensor[], weights: MaskLossWeights = MASK_LOSS_WEIGHTS,
  valid: readonly (Tensor | null)[] = []): MaskLoss {
  if (preds.length !== gts.length) throw new RangeError(`maskLoss: ${preds.length} predictions for ${gts.length} ground truths`);
  preds.forEach((p, i) => checkPair(p, gts[i], i));
  const N = preds.reduce((a, p) => a + p.shape[0], 0);
  const device = preds[0]?.device;
  if (N === 0 || !device) {
    const z = () => noGrad(() => zeros([], 'f32', device));
    return { total: z(), bce: z(), dice: z(), numMasks: 0 };
  }
  return withTemps((tmp) => {
    let bceSum: Tensor | null = null, diceSum: Tensor | null = null;
    preds.forEach((p, i) => {
      const n = p.shape[0];
      if (n === 0) return;
      const hw = p.shape[1] * p.shape[2];
      const x = tmp(reshape(p.dtype === 'f32' ? p : tmp(cast(p, 'f32')), [n, hw]));
      const y = tmp(reshape(gts[i].dtype === 'f32' ? gts[i] : tmp(cast(gts[i], 'f32')), [n, hw]));
      const vi = valid[i] ?? null;
      if (vi && vi.shape.join() !== p.shape.join()) throw new RangeError(`maskLoss: sample ${i}: valid map [${vi.shape}] and logits [${p.shape}] differ`);
      const v = vi ? tmp(reshape(vi.dtype === 'f32' ? vi : tmp(cast(vi, 'f32')), [n, hw])) : null;
      const [b, d] = sampleTerms(x, y, v, tmp).map(tmp);
      // (sum / (n + 1e-8)) * n, as the official code writes it.
      const bi = tmp(mul(tmp(div(b, n + 1e-8)), n));
      const di = tmp(mul(tmp(div(d, n + 1e-8)), n));
      bceSum = bceSum ? tmp(add(bceSum, bi)) : bi;
      diceSum = diceSum ? tmp(add(diceSum, di)) : di;
    });
    const bce = div(tmp(mul(bceSum!, weights.bce)), N + 1e-8);
    const dice = div(tmp(mul(diceSum!, weights.dice)), N + 1e-8);
    return { total: add(bce, dice), bce, dice, numMasks: N };
  });
}
