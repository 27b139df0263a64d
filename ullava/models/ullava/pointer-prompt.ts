// The pointer prompt: this project's extension of u-LLaVA's [SEG] path (config.json "seg_prompt": "pointer").
// In the paper the seg head maps the [SEG] state straight to a sparse prompt token for SAM's decoder, and a
// pretrained SAM takes it from there. A SAM trained from scratch on point prompts (the shapes recipe's "sam"
// stage) expects a point token: random Fourier features of a position, several periods across the image.
// Regressing those from the [SEG] state stalled at the mean point token for whole runs, and scoring patches
// against the [SEG] state (a pointer network, Vinyals et al. 2015) stalled too: in a small LLM trained from
// scratch the state that emits [SEG] follows a fixed text ("Sure. Info:") and stayed the same for every
// expression and image (cosine 1.0000 after 600 steps). So here the [SEG] says when to segment, and the
// question says where: the sum of the question's word embeddings scores each image token's projected CLIP
// feature (the vision stage puts the words "red" and "square" into the patches of a red square); a
// cross-entropy against the patches the target covers trains the words and the projector; SAM gets its
// foreground point token at the expected patch centre. The question sentence alone, untrained, already
// segments the demo's red square (IoU 0.91 with the recipe's stage I checkpoint); the turn as the prompt has
// it ("\n" before, "ASSISTANT:" after) needs training first (0.06 untrained, 0.93 after 100 stage II steps:
// the pointer loss trains those words too). It reads a bag of words: an expression that names
// one object by another ("the shape right of the green star") points at the one it names. No new parameters.
import { Tensor, scope, matmul, transpose, mul, softmax, logSoftmax, sum, neg, cast, reshape, indexSelect, concat } from '../../../engine/index.js';
import type { UllavaConfig } from './config.js';
import type { UllavaForCausalLM } from './model.js';
import { clipPatchGrid, patchCover } from './patch-geometry.js';

const f32 = (t: Tensor) => (t.dtype === 'f32' ? t : cast(t, 'f32'));

/**
 * Scales the question's summed word scores into logits: found on the shapes recipe's stage I checkpoint
 * (about 10 over the ~15 words of a question); training then shapes the embeddings and features to it.
 */
export const POINTER_SCALE = 2 / 3;

/** What a pointer model's [SEG]s need besides their states: the image's projected features and each [SEG]'s question. */
export interface PointerInputs {
  /** The image's projected CLIP features [P, hidden] (encodeImages: the tokens spliced into the prompt). */
  features: Tensor;
  /** Per [SEG], the prompt its answer follows: the conversation's ids up to its round's "ASSISTANT:". */
  prompts: readonly (readonly number[])[];
}

/** The prompt of a [SEG] at `position` in a labelled conversation: the ids before its answer (labels -100 before it). */
export function segRoundPrompt(ids: ArrayLike<number>, labels: ArrayLike<number>, position: number, ignore = -100): number[] {
  let a = position;
  while (a > 0 && labels[a - 1] !== ignore) a--;
  return Array.from(ids).slice(0, a);
}

/**
 * The words of the question a prompt ends with: the last user turn's ids, after the last media block or the
 * last answer's end (</s>), without the BOS and the media tokens (their features are the keys).
 */
export function questionWords(config: UllavaConfig, prompt: readonly number[]): number[] {
  const t = config.tokens, llm = config.llm;
  const media = new Set([t.imageStart, t.imageEnd, t.imagePatch, t.videoStart, t.videoEnd, t.videoPatch]);
  const bounds = new Set([t.imageEnd, t.videoEnd, llm.eosTokenId ?? 2]);
  let from = prompt.length;
  while (from > 0 && !bounds.has(prompt[from - 1])) from--;
  return prompt.slice(from).filter((id) => !media.has(id) && id !== (llm.bosTokenId ?? 1));
}

/** Pointer scores [N, P] of N [SEG]s over the image's P projected features [P, hidden]: their questions' summed words against each feature. */
export function pointerLogits(model: UllavaForCausalLM, inputs: PointerInputs): Tensor {
  return scope(() => {
    const table = model.lm.model.embed_tokens.weight;
    const queries = inputs.prompts.map((prompt) => {
      const words = questionWords(model.config, prompt);
      if (words.length === 0) throw new RangeError('pointerLogits: a [SEG] whose prompt has no question words (after the media block)');
      const E = indexSelect(table, 0, Tensor.fromHost(Int32Array.from(words), [words.length], 'i32', table.device));
      return sum(f32(E), 0, { keepDims: true });
    });
    return mul(matmul(concat(queries, 0), transpose(f32(inputs.features))), POINTER_SCALE);
  });
}

/**
 * Patch centres [P, 2] (x, y) of the CLIP grid in SAM's input frame (pixel indices, as point prompts give
 * them) for an image of `originalSize` [h, w] that SAM resized to `inputSize` [ih, iw].
 */
export function patchCentres(model: UllavaForCausalLM, originalSize: [number, number], inputSize: [number, number]): Float32Array {
  const [h, w] = originalSize, [ih, iw] = inputSize, v = model.config.vision;
  const grid = clipPatchGrid(w, h, v.imageSize, v.patchSize);
  const out = new Float32Array(2 * grid.G * grid.G);
  for (let p = 0; p < grid.G * grid.G; p++) {
    const [x, y] = grid.centre(p);
    out[2 * p] = (x - 0.5) * (iw / w);
    out[2 * p + 1] = (y - 0.5) * (ih / h);
  }
  return out;
}

/**
 * SAM prompt tokens [N, 1, C]: the foreground point token at each row's expected patch centre under
 * softmax(logits). The point carries no gradient: the pointer learns from its own cross-entropy, since the
 * mask loss reaches the position only through Fourier features, the very signal this prompt avoids.
 */
export function pointerPrompts(model: UllavaForCausalLM, logits: Tensor, originalSize: [number, number], inputSize: [number, number]): Tensor {
  return scope(() => {
    const P = logits.shape[1], centres = patchCentres(model, originalSize, inputSize);
    if (centres.length !== 2 * P) throw new RangeError(`pointerPrompts: ${P} image tokens, but the CLIP grid has ${centres.length / 2} patches`);
    const weights = softmax(f32(logits).detach(), 1);
    const coords = matmul(weights, Tensor.fromHost(centres, [P, 2], 'f32', logits.device));
    const tokens = model.visualModel.promptEncoder.foregroundPointTokensAt(coords);
    return reshape(tokens, [tokens.shape[0], 1, tokens.shape[1]]);
  });
}

/**
 * The pointer's targets [n, P] for masks of an image of width x height (1 = inside): each row the share of
 * the mask in each patch of the CLIP grid; a mask with no pixel (a shape hidden by others) gives a row of 0.
 */
export function pointerTargets(masks: readonly Uint8Array[], width: number, height: number, clipSize: number, patchSize: number): Float32Array {
  const grid = clipPatchGrid(width, height, clipSize, patchSize), P = grid.G * grid.G;
  const out = new Float32Array(masks.length * P);
  masks.forEach((m, k) => {
    const c = patchCover(m, width, grid);
    const total = c.reduce((a, b) => a + b, 0);
    if (total > 0) for (let p = 0; p < P; p++) out[k * P + p] = c[p] / total;
  });
  return out;
}

/** Cross-entropy of pointer logits [n, P] against target distributions [n, P], the mean over rows with a target. */
export function pointerLoss(logits: Tensor, targets: Float32Array): Tensor {
  const [n, P] = logits.shape;
  if (targets.length !== n * P) throw new RangeError(`pointerLoss: ${targets.length} targets for logits [${n}, ${P}]`);
  let rows = 0;
  for (let k = 0; k < n; k++) if (targets.subarray(k * P, (k + 1) * P).some((t) => t > 0)) rows++;
  return scope(() => {
    const t = Tensor.fromHost(targets, [n, P], 'f32', logits.device);
    return mul(neg(sum(mul(t, logSoftmax(f32(logits), 1)))), 1 / Math.max(rows, 1));
  });
}
