// The teacher-forced training forward of u-LLaVA, beside the inference path of model.ts / session.ts:
// CLIP (frozen, no graph) -> projector -> spliced into the token embeddings -> the decoder layers (each
// optionally under gradient checkpointing) -> final norm. The 32k-wide LM head is handed to the loss,
// which runs it only on the rows that predict a supervised token (shifted: row t predicts label t+1). The hidden state before each
// [SEG] goes through the seg head into SAM's mask decoder (SAM's image encoder frozen, no graph) and is
// upsampled to the image's size; the one before each [LOC] through the det head to a box.
import {
  Tensor, type Device, reshape, slice, scope, noGrad, checkpoint, arange, indexSelect, cast, linear, concat, type DType,
} from '../../engine/index.js';
import { maskPointTokens, interiorPoint } from './point-prompt-forward.js';
import { pointerTargets, pointerLoss, segRoundPrompt } from '../models/ullava/pointer-prompt.js';
import type { UllavaForCausalLM, SpliceSpan } from '../models/ullava/model.js';
import { IGNORE_INDEX, type PreparedExample } from './example.js';

export interface TrainingForwardOptions {
  /** Recompute each decoder layer's activations during backward instead of keeping them. */
  gradientCheckpointing: boolean;
  /**
   * Also return each [SEG] prompt with SAM's point token of its mask's interior point (the "prompt" loss of
   * a recipe whose segmenter learnt from point prompts first, point-prompt-forward.ts). A pointer model
   * (seg_prompt "pointer") always returns its pointer loss instead.
   */
  pointTargets?: boolean;
}

export interface TrainingForwardOutput {
  /** Final-norm hidden states [B, S, hidden] (right-padded batch); null when the LLM does not run (the "sam" stage). */
  hidden: Tensor | null;
  /** B * S labels on the host (-100: not supervised, padding included); position t+1's label is what row t predicts. */
  labels: Int32Array;
  /** The LM head, [N, hidden] -> [N, vocab]: the loss runs it on the supervised rows only. */
  lmHead: (h: Tensor) => Tensor;
  /** Per example with masks: mask logits at the image's size [n, H, W] and the 0/1 targets (f32). */
  maskLogits: Tensor[];
  maskTargets: Tensor[];
  /** Per example with masks: 0/1 pixels the mask loss counts (label maps' ignore 255 -> 0), or null when all count. */
  maskValid: (Tensor | null)[];
  /** [LOC] boxes [M, 4] and their targets (normalised xyxy in the padded square); null if M = 0. */
  boxes: Tensor | null;
  boxTargets: Tensor | null;
  /** The boxes of each example, in batch order (the official box loss normalises per example first). */
  boxCounts: number[];
  /** With pointTargets: every [SEG] prompt token [M, 1, C] (f32, with its graph) and its point token (no graph); else null. */
  promptPred?: Tensor | null;
  promptTarget?: Tensor | null;
  /** A pointer model's [SEG] pointer cross-entropy (models/ullava/pointer-prompt.ts), weighed by prompt_weight; else null. */
  pointerLoss?: Tensor | null;
  /** The "vision" stage's patch-word cross-entropy (patch-word-forward.ts), weighed by ce_weight; absent elsewhere. */
  patchWordLoss?: Tensor | null;
  /** Counts for throughput and reporting. */
  tokens: number;
  supervisedTokens: number;
}

/** Right-padded ids [B, S]: with causal attention the real tokens never see the padding, so no mask is needed. */
export function padIds(examples: PreparedExample[], padId: number): { ids: Int32Array; S: number } {
  const S = Math.max(...examples.map((e) => e.ids.length));
  const ids = new Int32Array(examples.length * S).fill(padId);
  examples.forEach((e, b) => ids.set(e.ids, b * S));
  return { ids, S };
}

export function trainingForward(model: UllavaForCausalLM, examples: PreparedExample[], o: TrainingForwardOptions): TrainingForwardOutput & { hidden: Tensor } {
  if (examples.length === 0) throw new RangeError('trainingForward: an empty batch');
  const lm = model.lm, cfg = model.config;
  const device = lm.model.embed_tokens.weight.device;
  const B = examples.length;
  const { ids, S } = padIds(examples, cfg.llm.padTokenId ?? 0);
  const H = cfg.llm.hiddenSize;
  // Host-side index lists: rows of the flattened [B * S] hidden states.
  const labels = new Int32Array(B * S).fill(IGNORE_INDEX);
  let supervised = 0;
  const segRows: number[] = [], locRows: number[] = [], boxTargets: number[] = [];
  examples.forEach((e, b) => {
    labels.set(e.labels, b * S);
    for (let t = 1; t < e.labels.length; t++) if (e.labels[t] !== IGNORE_INDEX) supervised++;
    // The state that emitted [SEG] / [LOC] is the one before it.
    for (const p of e.segPositions) segRows.push(b * S + p - 1);
    for (const p of e.locPositions) locRows.push(b * S + p - 1);
    for (const bx of e.boxes) boxTargets.push(...bx);
  });
  const dtype: DType = lm.dtype;
  return scope(() => {
    const idsT = Tensor.fromHost(ids, [B, S], 'i32', device);
    // CLIP features of every example with an image, projected (the projector trains in every stage), in one
    // batch; a video's frames go through encodeVideo (T temporal + patches spatial tokens) one video at a time.
    const withImage = examples.flatMap((e, b) => (e.media === 'image' ? [b] : []));
    const spans: (SpliceSpan | null)[] = examples.map(() => null);
    const size = cfg.vision.imageSize, per = 3 * size * size;
    if (withImage.length) {
      const px = new Float32Array(withImage.length * per);
      withImage.forEach((b, i) => px.set(examples[b].clipPixels!, i * per));
      let pixels = Tensor.fromHost(px, [withImage.length, 3, size, size], 'f32', device);
      if (dtype !== 'f32') pixels = cast(pixels, dtype);
      const feats = model.encodeImages(pixels);
      const [, P, Hf] = feats.shape;
      withImage.forEach((b, i) => { spans[b] = { start: examples[b].mediaStart, features: reshape(slice(feats, 0, i, i + 1), [P, Hf]) }; });
    }
    examples.forEach((e, b) => {
      if (e.media !== 'video') return;
      let frames = Tensor.fromHost(e.clipPixels!, [e.frames, 3, size, size], 'f32', device);
      if (dtype !== 'f32') frames = cast(frames, dtype);
      spans[b] = { start: e.mediaStart, features: model.encodeVideo(frames) };
    });
    const x0 = model.embedWithMedia(idsT, spans);
    const positions = reshape(arange(0, S, 1, 'i32', device), [1, S]);
    const { cos, sin } = lm.rotary.cosSin(positions, Math.max(S, cfg.llm.maxPositionEmbeddings), dtype);
    let h = x0;
    lm.model.layers.items.forEach((layer, i) => {
      // cos / sin go in as inputs so the checkpoint keeps them alive for the recompute in backward.
      const run = (x: Tensor, c: Tensor, s: Tensor) => layer.forward(x, { cos: c, sin: s, bias: null, cache: null, layer: i });
      h = o.gradientCheckpointing ? checkpoint(run, h, cos, sin) : run(h, cos, sin);
    });
    const hidden = lm.model.norm.forward(h);
    const flat = reshape(hidden, [B * S, H]);
    const rowsOf = (rows: number[]) => indexSelect(flat, 0, Tensor.fromHost(Int32Array.from(rows), [rows.length], 'i32', device));
    const lmHead = (x: Tensor) => (lm.lm_head ? lm.lm_head.forward(x) : linear(x, lm.model.embed_tokens.weight));

    const maskLogits: Tensor[] = [], targets: Tensor[] = [], maskValid: (Tensor | null)[] = [];
    const promptPreds: Tensor[] = [], promptTargets: Tensor[] = [];
    const pointers: Tensor[] = [], pointerGoals: Float32Array[] = [];
    const withMasks = examples.filter((e) => e.sam && e.segPositions.length);
    if (withMasks.length) {
      const segHidden = rowsOf(segRows);
      const embeddings = samImageEmbeddings(model, withMasks);
      let first = 0, i = 0;
      examples.forEach((e, b) => {
        const n = e.sam ? e.segPositions.length : 0;
        if (!n) { first += e.segPositions.length; return; }
        const emb = slice(embeddings, 0, i, i + 1);
        const [h, w] = e.sam!.originalSize;
        // A pointer model's [SEG] points where its question's words match the image's projected features (pointer-prompt.ts).
        const features = cfg.segPrompt === 'pointer' ? spans[b]?.features ?? null : null;
        const pointerInputs = features ? { features, prompts: e.segPositions.slice(0, n).map((p) => segRoundPrompt(e.ids, e.labels, p)) } : null;
        const { prompts, pointer } = model.segPromptTokens(slice(segHidden, 0, first, first + n), { pointer: pointerInputs, inputSize: e.sam!.inputSize, originalSize: [h, w] });
        const logits = model.decodeMaskPrompts(prompts, emb, e.sam!.inputSize, e.sam!.originalSize);
        maskLogits.push(logits.dtype === 'f32' ? logits : cast(logits, 'f32'));
        if (pointer) {
          pointers.push(pointer);
          pointerGoals.push(pointerTargets(e.masks.slice(0, n), w, h, cfg.vision.imageSize, cfg.vision.patchSize));
        } else if (o.pointTargets) {
          promptPreds.push(prompts.dtype === 'f32' ? prompts : cast(prompts, 'f32'));
          const t = noGrad(() => maskPointTokens(model, e, n, interiorPoint));
          promptTargets.push(t.dtype === 'f32' ? t : cast(t, 'f32'));
        }
        const { target, valid } = maskTargets(e, n, device);
        targets.push(target);
        maskValid.push(valid);
        first += n; i++;
      });
    }

    let boxes: Tensor | null = null, boxT: Tensor | null = null;
    if (locRows.length && model.detDecoder) {
      const b = model.decodeBoxes(rowsOf(locRows));
      boxes = b.dtype === 'f32' ? b : cast(b, 'f32');
      boxT = Tensor.fromHost(Float32Array.from(boxTargets), [locRows.length, 4], 'f32', device);
    }
    return {
      hidden, labels, lmHead, maskLogits, maskTargets: targets, maskValid,
      pointerLoss: pointers.length ? pointerLoss(concat(pointers, 0), concatFloats(pointerGoals)) : null,
      promptPred: promptPreds.length ? concat(promptPreds, 0) : null, promptTarget: promptTargets.length ? concat(promptTargets, 0) : null, boxes, boxTargets: boxT, boxCounts: examples.map((e) => e.locPositions.length),
      tokens: examples.reduce((a, e) => a + e.ids.length, 0), supervisedTokens: supervised,
    };
  });
}

function concatFloats(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/**
 * SAM image embeddings [N, C, h, w] of examples that carry SAM inputs. SAM's image encoder is frozen in the
 * paper's stages: no graph, no saved activations. A model trained from scratch ("from_scratch" configs)
 * trains it, and then it runs with its graph.
 */
export function samImageEmbeddings(model: UllavaForCausalLM, examples: PreparedExample[]): Tensor {
  const cfg = model.config, device = model.visualModel.promptEncoder.noMaskEmbed.weight.device;
  const Ss = cfg.sam.encoder.imageSize, per = 3 * Ss * Ss;
  const px = new Float32Array(examples.length * per);
  examples.forEach((e, i) => px.set(e.sam!.pixels, i * per));
  const samDtype = model.visualModel.promptEncoder.noMaskEmbed.weight.dtype;
  const encode = () => scope(() => {
    const p = Tensor.fromHost(px, [examples.length, 3, Ss, Ss], 'f32', device);
    return model.visualModel.encodeImage(samDtype === 'f32' ? p : cast(p, samDtype));
  });
  const encoderTrains = model.visualModel.imageEncoder.parameters().some((t) => t.requiresGrad);
  return encoderTrains ? encode() : noGrad(encode);
}

/** An example's masks as 0/1 f32 targets [n, H, W], and where label maps say 255 (ignore), a 0/1 map of the pixels that count. */
export function maskTargets(e: PreparedExample, n: number, device: Device): { target: Tensor; valid: Tensor | null } {
  const [mh, mw] = e.sam!.originalSize, masks = e.masks.slice(0, n);
  const tgt = new Float32Array(n * mh * mw);
  const ignored = masks.some((m) => m.includes(255));
  const valid = ignored ? new Float32Array(n * mh * mw).fill(1) : null;
  masks.forEach((m, k) => {
    for (let q = 0; q < m.length; q++) {
      if (m[q] === 255) valid![k * mh * mw + q] = 0; else tgt[k * mh * mw + q] = m[q];
    }
  });
  return { target: Tensor.fromHost(tgt, [n, mh, mw], 'f32', device), valid: valid ? Tensor.fromHost(valid, [n, mh, mw], 'f32', device) : null };
}
