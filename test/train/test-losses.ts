// Loss functions for the trainer tests while ullava/train/losses.ts (the train-core helper's) is not on
// this branch: token cross-entropy on the supervised rows, mean BCE per mask, Dice on the sigmoid, L1.
// Composed from engine ops; the product uses ULLAVA_LOSS_FUNCTIONS.
import * as E from '../../engine/index.js';
import type { LossFunctions } from '../../ullava/train/objective.js';

export const TEST_LOSS_FUNCTIONS: LossFunctions = {
  tokenCrossEntropy(hidden, labels, lmHead) {
    const [B, S, D] = hidden.shape;
    const rows: number[] = [], targets: number[] = [];
    for (let b = 0; b < B; b++) for (let t = 0; t + 1 < S; t++) { const l = labels[b * S + t + 1]; if (l !== -100) { rows.push(b * S + t); targets.push(l); } }
    return E.scope(() => {
      const picked = E.indexSelect(E.reshape(hidden, [B * S, D]), 0, E.Tensor.fromHost(Int32Array.from(rows), [rows.length], 'i32', hidden.device));
      return E.crossEntropy(lmHead(picked), E.Tensor.fromHost(Int32Array.from(targets), [targets.length], 'i32', hidden.device));
    });
  },
  maskLoss(logits, targets) {
    return E.scope(() => {
      let bce: E.Tensor | null = null, dice: E.Tensor | null = null, n = 0;
      logits.forEach((x0, i) => {
        const k = x0.shape[0], hw = x0.shape[1] * x0.shape[2];
        const x = E.reshape(x0, [k, hw]), y = E.reshape(targets[i], [k, hw]);
        const b = E.sum(E.mean(E.binaryCrossEntropyWithLogits(x, y, { reduction: 'none' }), 1));
        const s = E.div(E.sigmoid(x), 1000);
        const num = E.mul(E.sum(E.mul(s, y), 1), 2);
        const den = E.add(E.sum(s, 1), E.sum(E.div(y, 1000), 1));
        const d = E.sum(E.sub(1, E.div(E.add(num, 1e-6), E.add(den, 1e-6))));
        bce = bce ? E.add(bce, b) : b; dice = dice ? E.add(dice, d) : d; n += k;
      });
      return { bce: E.div(bce!, n), dice: E.div(dice!, n) };
    });
  },
  boxLoss(pred, target) {
    return E.scope(() => ({ l1: E.div(E.sum(E.abs(E.sub(pred, target))), pred.shape[0]), giou: E.mul(E.sum(pred), 0) }));
  },
};
