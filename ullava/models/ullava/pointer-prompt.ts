// The pointer prompt: this project's extension of u-LLaVA's [SEG] path (config.json "seg_prompt": "pointer").
// In the paper the seg head maps the [SEG] state straight to a sparse prompt token for SAM's decoder, and a
// pretrained SAM takes it from there. A SAM trained from scratch on point prompts (the shapes recipe's "sam"
// stage) expects a point token: random Fourier features of a position, several periods across the image.
// Regressing those from the [SEG] state gives a loss that is flat until the position is already right (the
// recipe's [SEG] prompts sat at the mean point token for a whole run). So instead the seg head maps the [SEG]
// state and each image token's projected CLIP feature (the embedding spliced into the prompt) into one space;
// their scaled dot products score where the [SEG] points (a pointer network, Vinyals et al. 2015); a
// cross-entropy against the patches the target covers teaches that directly; and SAM gets its foreground point
// token at the expected patch centre. The keys are the projected features, not the image tokens' final
// states: the features already sit beside the words that name them (a vision stage puts "red" and "square"
// into the patches of a red square), so a [SEG] state that carries its expression's words points without
// further help; with final states as keys the recipe's pointer learnt where objects are but not which one
// (the same distribution for every expression). No new parameters: the published keys stay as they are.
import { Tensor, scope, matmul, transpose, mul, add, softmax, logSoftmax, sum, neg, cast, reshape, slice, concat, indexSelect, noGrad } from '../../../engine/index.js';
import type { UllavaConfig } from './config.js';
import type { UllavaForCausalLM } from './model.js';
import { clipPatchGrid, patchCover } from './patch-geometry.js';

const f32 = (t: Tensor) => (t.dtype === 'f32' ? t : cast(t, 'f32'));

/** What a pointer model's [SEG]s need besides their states: the image's projected features and each [SEG]'s context. */
export interface PointerInputs {
  /** The image's projected CLIP features [P, hidden] (encodeImages: the tokens spliced into the prompt). */
  features: Tensor;
  /** Per [SEG], the token ids before it (the whole conversation so far: prompt and answer). */
  contexts: readonly (readonly number[])[];
}

/** Each generated [SEG]'s context: the prompt's ids and the answer's before it. */
export function generatedSegContexts(promptIds: readonly number[], generated: readonly number[], segId: number): number[][] {
  return generated.flatMap((id, i) => (id === segId ? [[...promptIds, ...generated.slice(0, i)]] : []));
}

/** The words a [SEG] reads: the ids before it without the media block's tokens (their features are the keys). */
export function contextWords(config: UllavaConfig, ids: readonly number[]): number[] {
  const t = config.tokens, media = new Set([t.imageStart, t.imageEnd, t.imagePatch, t.videoStart, t.videoEnd, t.videoPatch]);
  return ids.filter((id) => !media.has(id));
}

/**
 * The pointer's queries [N, hidden]: each [SEG] state plus its read of the words before it, an attention of
 * the state over those words' input embeddings (no parameters; the embeddings carry no gradient here), put
 * through the LLM's final norm to the scale of a state. Why: the state that emits [SEG] follows a fixed text
 * ("Sure. Info:"), and a small LLM trained from scratch leaves it the same for every expression and image
 * (cosine 1.0000 between "the red square" and "the green triangle" after 600 steps of the pointer loss);
 * the words themselves sit beside the patches they name (the vision stage put them there), so reading them
 * gives the pointer its target from the first step, and the state learns which words to read.
 */
export function pointerQueries(model: UllavaForCausalLM, segHidden: Tensor, contexts: PointerInputs['contexts']): Tensor {
  const [N, H] = segHidden.shape;
  if (contexts.length !== N) throw new RangeError(`pointerQueries: ${contexts.length} contexts for ${N} [SEG] states`);
  return scope(() => {
    const table = model.lm.model.embed_tokens.weight, h = f32(segHidden);
    const reads = contexts.map((ids, k) => {
      const words = contextWords(model.config, ids);
      if (words.length === 0) throw new RangeError('pointerQueries: a [SEG] with no words before it');
      const E = noGrad(() => f32(indexSelect(table, 0, Tensor.fromHost(Int32Array.from(words), [words.length], 'i32', table.device))));
      const w = softmax(mul(matmul(slice(h, 0, k, k + 1), transpose(E)), 1 / Math.sqrt(H)), 1);
      return matmul(w, E);
    });
    const read = model.lm.model.norm.forward(concat(reads, 0));
    return add(h, f32(read));
  });
}

/** Pointer scores [N, P] of N [SEG] states [N, hidden] over the image's P projected features [P, hidden]. */
export function pointerLogits(model: UllavaForCausalLM, segHidden: Tensor, inputs: PointerInputs): Tensor {
  return scope(() => {
    const head = (h: Tensor) => f32(model.segHeadForward(h));
    const q = head(pointerQueries(model, segHidden, inputs.contexts));
    return mul(matmul(q, transpose(head(inputs.features))), 1 / Math.sqrt(model.config.outDim));
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
