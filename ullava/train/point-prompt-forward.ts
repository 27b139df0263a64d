// The forward of the "sam" stage, a stage the paper does not need: it starts from SAM ViT-H, pretrained as a
// promptable segmenter on SA-1B, and keeps it frozen. A model trained from scratch has no such SAM, and
// training the mask decoder only through [SEG] states of an LLM that has not yet learnt where anything is
// makes both ends wait for each other (the shapes recipe's first run stalled at cIoU ~0.25, masks as blobs
// around several shapes). So the segmenter first learns as SAM did (Kirillov et al. 2023, section 3 and
// appendix A): a point drawn uniformly from the ground-truth mask is the prompt, the mask the target,
// with the same mask losses. The point goes in as one sparse token, pe(point) + the foreground point
// embedding, with no padding point: the shape of a projected [SEG] prompt, so stage II starts from a decoder
// that already segments "the shape under this token" and the LLM only has to learn to point. In this world
// a visible pixel belongs to exactly one shape's mask, so one point names the target.
import { Tensor, scope, slice, cast } from '../../engine/index.js';
import type { UllavaForCausalLM } from '../models/ullava/model.js';
import { splitmix32 } from '../data/rng.js';
import type { PreparedExample } from './example.js';
import { samImageEmbeddings, maskTargets, type TrainingForwardOutput } from './forward.js';

/** A 32-bit hash of a string (FNV-1a), to seed an example's point draws. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * A pixel drawn uniformly from mask `m` (w columns; value 1 = inside) as (x, y), or null when the mask is
 * empty.
 */
export function drawMaskPoint(m: Uint8Array, w: number, rand: () => number): [number, number] | null {
  let count = 0;
  for (let i = 0; i < m.length; i++) if (m[i] === 1) count++;
  if (count === 0) return null;
  let k = Math.floor(rand() * count);
  for (let i = 0; i < m.length; i++) {
    if (m[i] === 1 && k-- === 0) return [i % w, Math.floor(i / w)];
  }
  return null;
}

/**
 * The mask pixel nearest its centroid (x, y) -- inside the shape, deterministic -- or null for an empty mask.
 */
export function interiorPoint(m: Uint8Array, w: number): [number, number] | null {
  let n = 0, sx = 0, sy = 0;
  for (let i = 0; i < m.length; i++) if (m[i] === 1) { n++; sx += i % w; sy += Math.floor(i / w); }
  if (n === 0) return null;
  const cx = sx / n, cy = sy / n;
  let best = -1, bestD = Infinity;
  for (let i = 0; i < m.length; i++) {
    if (m[i] !== 1) continue;
    const d = (i % w - cx) ** 2 + (Math.floor(i / w) - cy) ** 2;
    if (d < bestD) { bestD = d; best = i; }
  }
  return [best % w, Math.floor(best / w)];
}

/**
 * SAM's point token [n, 1, C] of each of the first n masks of `e` at the points `pick` chooses (label 1; an
 * empty mask gets the "not a point" token), in the model's input frame.
 */
export function maskPointTokens(model: UllavaForCausalLM, e: PreparedExample, n: number, pick: (m: Uint8Array, w: number) => [number, number] | null): Tensor {
  const [h, w] = e.sam!.originalSize, [ih, iw] = e.sam!.inputSize;
  const coords = new Float32Array(2 * n), labels = new Int32Array(n);
  e.masks.slice(0, n).forEach((m, k) => {
    const p = pick(m, w);
    labels[k] = p ? 1 : -1;
    // SAM's ResizeLongestSide.apply_coords: original pixels to the model's input frame.
    if (p) { coords[2 * k] = p[0] * (iw / w); coords[2 * k + 1] = p[1] * (ih / h); }
  });
  return model.visualModel.promptEncoder.pointTokens({ coords, labels, batch: n, count: 1 });
}

/**
 * Mask logits of every mask of the batch, each prompted by one point drawn from it (`seed` and the example
 * name the draw, so a run and its resumption draw the same points). The LLM does not run.
 */
export function pointPromptForward(model: UllavaForCausalLM, examples: PreparedExample[], seed: number): TrainingForwardOutput {
  const withMasks = examples.filter((e) => e.sam && e.masks.length > 0);
  if (withMasks.length === 0) {
    throw new Error('the "sam" stage trains on masks: this batch has none (give it res, rec or salient samples, e.g. ullava data shapes --tasks res,rec,salient)');
  }
  const prompter = model.visualModel.promptEncoder;
  const device = prompter.noMaskEmbed.weight.device;
  return scope(() => {
    const embeddings = samImageEmbeddings(model, withMasks);
    const maskLogits: Tensor[] = [], targets: Tensor[] = [], valid: (Tensor | null)[] = [];
    withMasks.forEach((e, i) => {
      const rand = splitmix32((hash32(e.where) ^ Math.imul(seed + 1, 0x9e3779b1)) >>> 0);
      // An empty mask (a shape hidden by others) gets a "no point" token: its target is empty too.
      const tokens = maskPointTokens(model, e, e.masks.length, (m, w) => drawMaskPoint(m, w, rand));
      const logits = model.decodeMaskPrompts(tokens, slice(embeddings, 0, i, i + 1), e.sam!.inputSize, e.sam!.originalSize);
      maskLogits.push(logits.dtype === 'f32' ? logits : cast(logits, 'f32'));
      const t = maskTargets(e, e.masks.length, device);
      targets.push(t.target);
      valid.push(t.valid);
    });
    return { hidden: null, labels: new Int32Array(0), lmHead: () => { throw new Error('the "sam" stage has no language model head'); },
      maskLogits, maskTargets: targets, maskValid: valid, boxes: null, boxTargets: null, boxCounts: examples.map(() => 0),
      tokens: 0, supervisedTokens: 0 };
  });
}
