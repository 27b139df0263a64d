// u-LLaVA's training losses: token cross-entropy (supervised positions only), the mask loss
// (2 BCE + 0.5 Dice) and the [LOC] box loss (L1 + GIoU), and their weighted total with every part.
import { add, mul, type Tensor } from '../../engine/index.js';
import { tokenCrossEntropy, supervisedPositions, IGNORE_INDEX, type TokenLoss, type SupervisedPositions } from './losses/token.js';
import { maskLoss, MASK_LOSS_WEIGHTS, DICE_SCALE, DICE_EPS, type MaskLoss, type MaskLossWeights } from './losses/mask.js';
import { boxLoss, pairedGiou, BOX_LOSS_WEIGHTS, type BoxLoss, type BoxLossWeights } from './losses/box.js';

export { tokenCrossEntropy, supervisedPositions, IGNORE_INDEX, type TokenLoss, type SupervisedPositions };
export { maskLoss, MASK_LOSS_WEIGHTS, DICE_SCALE, DICE_EPS, type MaskLoss, type MaskLossWeights };
export { boxLoss, pairedGiou, BOX_LOSS_WEIGHTS, type BoxLoss, type BoxLossWeights };

/** ce * 1 + bce * 2 + dice * 0.5 + L1 * 1 + GIoU * 1 (ullava.md, Training / Loss). */
export interface UllavaLossWeights { ce: number; bce: number; dice: number; l1: number; giou: number }
export const ULLAVA_LOSS_WEIGHTS: UllavaLossWeights = { ce: 1, bce: 2, dice: 0.5, l1: 1, giou: 1 };

export interface UllavaLossParts {
  /** The weighted sum of the parts present (0-d f32, new); backward() on it trains the model. */
  total: Tensor;
  /** Each part weighted, as the official code logs them (absent parts are missing). ce is new; the others are the inputs' own. */
  parts: { ce?: Tensor; bce?: Tensor; dice?: Tensor; l1?: Tensor; giou?: Tensor };
}

/**
 * Combines the parts a batch has: ce = tokenCrossEntropy(...).loss (unweighted; weighted here), mask =
 * maskLoss(...) and box = boxLoss(...) (already weighted: compute them with the same weights).
 */
export function combineLosses(p: { ce?: Tensor; mask?: MaskLoss; box?: BoxLoss }, weights: UllavaLossWeights = ULLAVA_LOSS_WEIGHTS): UllavaLossParts {
  const parts: UllavaLossParts['parts'] = {};
  const terms: Tensor[] = [];
  if (p.ce) { parts.ce = mul(p.ce, weights.ce); terms.push(parts.ce); }
  if (p.mask) { parts.bce = p.mask.bce; parts.dice = p.mask.dice; terms.push(p.mask.total); }
  if (p.box) { parts.l1 = p.box.l1; parts.giou = p.box.giou; terms.push(p.box.total); }
  if (terms.length === 0) throw new RangeError('combineLosses: no loss part given');
  let total = add(terms[0], 0);
  for (const t of terms.slice(1)) { const s = add(total, t); total.dispose(); total = s; }
  return { total, parts };
}
