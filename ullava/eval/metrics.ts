// The evaluation metrics of u-LLaVA (and LISA, whose validate() the official eval_ullava.py copies):
//  - per mask, the foreground intersection I and union U of the prediction (logit > 0) and the ground
//    truth, with ground-truth pixels labelled 255 ("ignore") left out of both (intersectionAndUnionGPU
//    with K = 2, ignore_index = 255: the prediction is overwritten with 255 there, so neither histogram
//    counts it);
//  - cIoU = sum I / sum U over all masks (the official code adds 1e-10 to the denominator: a dataset whose
//    every union is empty gives 0 there, and 0 here);
//  - gIoU = the mean over masks of I / U, a mask whose union is empty (empty ground truth AND empty
//    prediction) counting 1.0 ("no-object target"). The official code divides by U + 1e-5; the exact ratio
//    is used here (the two differ by less than 1e-5 / U relative);
//  - Prec@0.5 = the fraction of boxes whose IoU with the ground-truth box is > 0.5 (strictly, as
//    metrics/bbox_iou.py's `ious > 0.5`), box IoU as torchvision's box_iou (media/boxes.ts);
//  - exact-match accuracy of short answers (vqa) after normaliseAnswer;
//  - token F1 (SQuAD's bag-of-tokens F1) of captions: a simple, documented stand-in for the captioning
//    metrics (CIDEr, BLEU) that need reference sets this project's manifests do not have.
import { boxIoU, type Box } from '../media/boxes.js';

export const IGNORE_LABEL = 255;

/** The foreground intersection and union of one predicted mask with its ground truth (pixel counts). */
export interface MaskCounts { intersection: number; union: number }

/**
 * I and U of `pred` (a pixel is inside when its value > threshold, default 0: logits) against `gt`
 * (1 or any non-zero value other than 255 = inside, 0 = outside, 255 = ignored).
 */
export function maskIntersectionUnion(pred: ArrayLike<number>, gt: ArrayLike<number>, threshold = 0): MaskCounts {
  if (pred.length !== gt.length) throw new RangeError(`maskIntersectionUnion: the prediction has ${pred.length} pixels, the ground truth ${gt.length}`);
  let intersection = 0, union = 0;
  for (let p = 0; p < gt.length; p++) {
    const g = gt[p];
    if (g === IGNORE_LABEL) continue;
    const inP = pred[p] > threshold, inG = g !== 0;
    if (inP && inG) intersection++;
    if (inP || inG) union++;
  }
  return { intersection, union };
}

/** One mask's IoU as gIoU counts it: I / U, and 1 when the union is empty. */
export function maskIoU(c: MaskCounts): number {
  return c.union === 0 ? 1 : c.intersection / c.union;
}

/** cIoU: sum I / sum U (0 when every union is empty, as the official code's + 1e-10 gives). */
export function cumulativeIoU(counts: readonly MaskCounts[]): number {
  let i = 0, u = 0;
  for (const c of counts) { i += c.intersection; u += c.union; }
  return u > 0 ? i / u : 0;
}

/** gIoU: the mean per-mask IoU (NaN for no masks). */
export function generalizedIoU(counts: readonly MaskCounts[]): number {
  if (counts.length === 0) return NaN;
  let s = 0;
  for (const c of counts) s += maskIoU(c);
  return s / counts.length;
}

/** The IoU of a predicted box with the ground truth; a missing prediction (null: no [SEG]/[LOC], or an empty mask) is 0. */
export function predictedBoxIoU(pred: Box | null, gt: Box): number {
  return pred ? boxIoU(pred, gt) : 0;
}

/** Prec@threshold: the fraction of IoUs strictly above it (NaN for none). */
export function precisionAt(ious: readonly number[], threshold = 0.5): number {
  if (ious.length === 0) return NaN;
  return ious.filter((v) => v > threshold).length / ious.length;
}

/**
 * The normalisation before exact match: lower-case, whitespace runs collapsed to one space, trimmed, and
 * trailing periods removed ("Two dogs. " and "two  dogs" match; "two dogs!" and "two dogs" do not).
 */
export function normaliseAnswer(s: string): string {
  return s.toLowerCase().replace(/\s+/g, ' ').trim().replace(/\.+$/, '').trim();
}

export function exactMatch(prediction: string, truth: string): boolean {
  return normaliseAnswer(prediction) === normaliseAnswer(truth);
}

/** Caption tokens for token F1: lower-case words, punctuation removed (SQuAD's normalisation without dropping articles). */
export function captionTokens(s: string): string[] {
  return s.toLowerCase().replace(/[^\p{L}\p{N}\s]/gu, ' ').split(/\s+/).filter(Boolean);
}

/** SQuAD's token F1: 2PR / (P + R) over the multiset overlap of tokens; 1 when both are empty, 0 when one is. */
export function tokenF1(prediction: string, truth: string): number {
  const p = captionTokens(prediction), t = captionTokens(truth);
  if (p.length === 0 || t.length === 0) return p.length === t.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const w of t) counts.set(w, (counts.get(w) ?? 0) + 1);
  let common = 0;
  for (const w of p) {
    const c = counts.get(w) ?? 0;
    if (c > 0) { common++; counts.set(w, c - 1); }
  }
  if (common === 0) return 0;
  const precision = common / p.length, recall = common / t.length;
  return (2 * precision * recall) / (precision + recall);
}
