// u-LLaVA's training objective: ce * w_ce + (bce * w_bce + dice * w_dice) + (l1 * w_l1 + giou * w_giou)
// (+ prompt * w_prompt, a recipe's option, 0 in the paper's stages: the [SEG] prompt's distance to a point
// token, or a pointer model's pointer cross-entropy; the "vision" stage's patch-word loss
// stands in for ce), each
// part reported apart. The loss functions themselves (with the official normalisations) are given by the
// caller (ullava/train/losses.ts in the product); this file only weighs and sums them.
import { Tensor, add, mul, scope } from '../../engine/index.js';
import type { TrainingForwardOutput } from './forward.js';
import type { LossWeights } from './train-config.js';

export interface LossFunctions {
  /** Mean token cross-entropy over the supervised rows of hidden [B, S, D] (labels shifted inside), via lmHead on those rows only. */
  tokenCrossEntropy(hidden: Tensor, labels: Int32Array, lmHead: (h: Tensor) => Tensor): Tensor;
  /** Mask losses over all masks of the batch (one [n, H, W] logits / target pair per example; valid: 0/1 pixels counted, null = all). */
  maskLoss(logits: Tensor[], targets: Tensor[], valid?: (Tensor | null)[]): { bce: Tensor; dice: Tensor };
  /** Box losses of [M, 4] predictions against targets; perSample: the boxes of each example, in batch order. */
  boxLoss(pred: Tensor, target: Tensor, perSample: readonly number[]): { l1: Tensor; giou: Tensor };
  /** Mean squared error of [SEG] prompt tokens against point tokens (a "prompt" weight > 0 needs it). */
  promptLoss?(pred: Tensor, target: Tensor): Tensor;
}

export interface Objective { total: Tensor; parts: Record<string, Tensor> }

/** The weighted total (a 0-d f32 tensor with a graph) and each unweighted part. Parts absent from the batch are omitted. */
export function ullavaObjective(out: TrainingForwardOutput, w: LossWeights, fns: LossFunctions): Objective {
  return scope(() => {
    const parts: Record<string, Tensor> = {};
    const terms: Tensor[] = [];
    const term = (name: string, t: Tensor, weight: number) => { parts[name] = t; if (weight !== 0) terms.push(mul(t, weight)); };
    if (out.hidden && out.supervisedTokens > 0) term('ce', fns.tokenCrossEntropy(out.hidden, out.labels, out.lmHead), w.ce);
    if (out.patchWordLoss) term('words', out.patchWordLoss, w.ce);
    if (out.maskLogits.length) {
      const { bce, dice } = fns.maskLoss(out.maskLogits, out.maskTargets, out.maskValid);
      term('bce', bce, w.bce); term('dice', dice, w.dice);
    }
    if (out.boxes && out.boxTargets) {
      const { l1, giou } = fns.boxLoss(out.boxes, out.boxTargets, out.boxCounts);
      term('l1', l1, w.l1); term('giou', giou, w.giou);
    }
    if (out.pointerLoss) term('pointer', out.pointerLoss, w.prompt);
    if (w.prompt > 0 && out.promptPred && out.promptTarget) {
      if (!fns.promptLoss) throw new Error('the config weighs a "prompt" loss but no prompt loss function was given');
      term('prompt', fns.promptLoss(out.promptPred, out.promptTarget), w.prompt);
    }
    if (terms.length === 0) throw new Error('the batch has nothing to learn from (no supervised token, mask or box)');
    const total = terms.slice(1).reduce((a, t) => add(a, t), terms[0]);
    return { total, parts };
  });
}
