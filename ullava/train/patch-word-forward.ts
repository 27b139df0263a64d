// The forward of the "vision" stage, a stage the paper does not need: it starts from CLIP ViT-L, whose
// contrastive pretraining on 400M image-text pairs put language into its features, and keeps it frozen.
// A tower trained from scratch has no such features, and taught only through an LLM that does not yet look
// at the image it stays blind (the shapes recipe's first run answered every colour question "Blue.").
// So the tower first learns from dense words: each projected patch feature, read through the LLM's tied
// word embeddings, must name the words of the object on it ("square", "red", "small") or "background"
// (data/patch-words.ts). The softmax is over the batch's words only; a patch's target words share it
// (a soft target, 1/k each). The patches then reach the LLM already close to the embeddings of the words
// that ask for them.
import { Tensor, scope, indexSelect, linear, cast, reshape, logSoftmax, mul, sum } from '../../engine/index.js';
import type { UllavaForCausalLM } from '../models/ullava/model.js';
import type { PreparedExample } from './example.js';
import type { TrainingForwardOutput } from './forward.js';

/** The patch-word loss (mean over named patches of the soft-target cross-entropy) as a TrainingForwardOutput. */
export function patchWordForward(model: UllavaForCausalLM, examples: PreparedExample[]): TrainingForwardOutput {
  const withWords = examples.filter((e) => e.patchWords && e.clipPixels && e.media === 'image');
  if (withWords.length === 0) {
    throw new Error('the "vision" stage learns from annotated objects: this batch has none (give it image lines with "objects", e.g. ullava data shapes)');
  }
  const embed = model.lm.model.embed_tokens.weight, device = embed.device;
  const size = model.config.vision.imageSize, per = 3 * size * size;
  const N = withWords[0].patchWords!.length;
  // The batch's words, then the soft targets [B * N, K] (a patch's k words get 1/k each).
  const vocab = [...new Set(withWords.flatMap((e) => e.patchWords!.flat()))];
  const K = vocab.length, col = new Map(vocab.map((w, i) => [w, i]));
  const target = new Float32Array(withWords.length * N * K);
  let named = 0;
  withWords.forEach((e, b) => {
    if (e.patchWords!.length !== N) throw new Error(`${e.where}: ${e.patchWords!.length} patches where the batch has ${N}`);
    e.patchWords!.forEach((words, p) => {
      if (words.length) named++;
      for (const w of words) target[(b * N + p) * K + col.get(w)!] += 1 / words.length;
    });
  });
  if (named === 0) throw new Error('the "vision" stage: no patch of this batch is named (every patch was ignored)');
  return scope(() => {
    const px = new Float32Array(withWords.length * per);
    withWords.forEach((e, i) => px.set(e.clipPixels!, i * per));
    let pixels = Tensor.fromHost(px, [withWords.length, 3, size, size], 'f32', device);
    if (model.dtype !== 'f32') pixels = cast(pixels, model.dtype);
    const feats = model.encodeImages(pixels); // [B, N, H]
    const [B, P, H] = feats.shape;
    if (P !== N) throw new Error(`the "vision" stage: the tower gives ${P} patches, the patch words name ${N}`);
    const words = indexSelect(embed, 0, Tensor.fromHost(Int32Array.from(vocab), [K], 'i32', device));
    let logits = linear(reshape(feats, [B * N, H]), words);
    if (logits.dtype !== 'f32') logits = cast(logits, 'f32');
    const t = Tensor.fromHost(target, [B * N, K], 'f32', device);
    const loss = mul(sum(mul(logSoftmax(logits, -1), t)), -1 / named);
    return {
      hidden: null, labels: new Int32Array(0), lmHead: () => { throw new Error('the "vision" stage has no language model head'); },
      maskLogits: [], maskTargets: [], maskValid: [], boxes: null, boxTargets: null, boxCounts: examples.map(() => 0),
      patchWordLoss: loss, tokens: named, supervisedTokens: 0,
    };
  });
}
