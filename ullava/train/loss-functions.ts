// The product's loss functions for the trainer's objective: u-LLaVA's losses of ullava/train/losses.ts
// (token cross-entropy on supervised rows only, mask 2·BCE + 0.5·Dice with the official normalisation,
// box L1 + GIoU), called with unit weights: the objective applies the config's weights and reports
// each part unweighted.
import { tokenCrossEntropy, maskLoss, boxLoss } from './losses.js';
import type { LossFunctions } from './objective.js';
import { scope, sub, mul, mean } from '../../engine/index.js';

export const ULLAVA_LOSS_FUNCTIONS: LossFunctions = {
  tokenCrossEntropy: (hidden, labels, lmHead) => tokenCrossEntropy(hidden, labels, lmHead).loss,
  maskLoss: (logits, targets, valid) => {
    const m = maskLoss(logits, targets, { bce: 1, dice: 1 }, valid);
    m.total.dispose();
    return { bce: m.bce, dice: m.dice };
  },
  promptLoss: (pred, target) => scope(() => { const d = sub(pred, target); return mean(mul(d, d)); }),
  boxLoss: (pred, target, perSample) => {
    const b = boxLoss(pred, target, { l1: 1, giou: 1 }, perSample);
    b.total.dispose();
    return { l1: b.l1, giou: b.giou };
  },
};
