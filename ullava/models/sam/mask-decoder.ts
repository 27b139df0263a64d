// SAM's mask decoder: output tokens (IoU token + 4 mask tokens) joined with the prompt tokens, the
// two-way transformer over them and the image embedding, a 4x transposed-conv upscaling of the image
// tokens, one hypernetwork MLP per mask token giving the per-mask weights of the upscaled channels, and
// an MLP predicting each mask's IoU.
import { Tensor, reshape, transpose, expand, concat, add, matmul, slice, stack, scope, unsqueeze } from '../../../engine/index.js';
import { Module, ModuleList, Embedding, ConvTranspose2d, MLP, activate, seedPlus } from '../../../nn/index.js';
import { LayerNorm2d } from './common.js';
import { TwoWayTransformer } from './two-way-transformer.js';
import type { SamDecoderConfig } from './config.js';

/** output_upscaling: ConvT 2x2/2 -> LN2d -> GELU -> ConvT 2x2/2 -> GELU; keys 0, 1, 3. */
export class OutputUpscaling extends Module {
  readonly up1: ConvTranspose2d; readonly norm: LayerNorm2d; readonly up2: ConvTranspose2d;
  constructor(dim: number) {
    super();
    this.up1 = this.module('0', new ConvTranspose2d(dim, dim / 4, 2, { stride: 2 }));
    this.norm = this.module('1', new LayerNorm2d(dim / 4));
    this.up2 = this.module('3', new ConvTranspose2d(dim / 4, dim / 8, 2, { stride: 2 }));
  }
  forward(x: Tensor): Tensor {
    return scope(() => activate(this.up2.forward(activate(this.norm.forward(this.up1.forward(x)), 'gelu')), 'gelu'));
  }
}

export interface MaskDecoderInputs {
  /** [1 or B, C, h, w]; one image embedding is shared by all B prompts (repeat_interleave in SAM). */
  imageEmbeddings: Tensor;
  /** [1, C, h, w] (PromptEncoder.getDensePe()). */
  imagePe: Tensor;
  /** [B, n, C]. */
  sparse: Tensor;
  /** [B, C, h, w]. */
  dense: Tensor;
  /** true: the three disambiguation masks (tokens 1..3); false: the single mask (token 0). */
  multimaskOutput: boolean;
}

export class MaskDecoder extends Module {
  readonly transformer: TwoWayTransformer;
  readonly iouToken: Embedding;
  readonly maskTokens: Embedding;
  readonly outputUpscaling: OutputUpscaling;
  readonly hypernetworks: ModuleList<MLP>;
  readonly iouPredictionHead: MLP;
  readonly numMaskTokens: number;
  constructor(readonly dim: number, c: SamDecoderConfig, seed?: number) {
    super();
    this.numMaskTokens = c.numMultimaskOutputs + 1;
    this.transformer = this.module('transformer', new TwoWayTransformer(c.transformerDepth, dim, c.transformerHeads,
      c.transformerMlpDim, c.attentionDownsampleRate));
    this.iouToken = this.module('iou_token', new Embedding(1, dim, { seed: seedPlus(seed, 0) }));
    this.maskTokens = this.module('mask_tokens', new Embedding(this.numMaskTokens, dim, { seed: seedPlus(seed, 1) }));
    this.outputUpscaling = this.module('output_upscaling', new OutputUpscaling(dim));
    this.hypernetworks = this.module('output_hypernetworks_mlps', new ModuleList(
      Array.from({ length: this.numMaskTokens }, () => new MLP([dim, dim, dim, dim / 8], 'relu'))));
    const hidden = Array.from({ length: c.iouHeadDepth - 1 }, () => c.iouHeadHiddenDim);
    this.iouPredictionHead = this.module('iou_prediction_head', new MLP([dim, ...hidden, this.numMaskTokens], 'relu'));
  }

  /** All mask tokens' masks [B, 4, 4h, 4w] and IoU predictions [B, 4] (predict_masks). */
  predictMasks(imageEmbeddings: Tensor, imagePe: Tensor, sparse: Tensor, dense: Tensor): { masks: Tensor; iouPred: Tensor } {
    return scope(() => {
      const B = sparse.shape[0], C = this.dim;
      const [Bi, , h, w] = imageEmbeddings.shape;
      if (Bi !== 1 && Bi !== B) throw new RangeError(`SAM mask decoder: ${Bi} image embeddings for ${B} prompts`);
      const out = concat([this.iouToken.weight, this.maskTokens.weight], 0); // [1 + M, C]
      const outTokens = expand(unsqueeze(out, 0), [B, out.shape[0], C]);
      const tokens = sparse.shape[1] > 0 ? concat([outTokens, sparse], 1) : outTokens;
      const src = add(expand(imageEmbeddings, [B, C, h, w]), dense);
      const pos = expand(imagePe, [B, C, h, w]);
      const { queries: hs, keys } = this.transformer.forward(src, pos, tokens);
      const iouOut = reshape(slice(hs, 1, 0, 1), [B, C]);
      const up = this.outputUpscaling.forward(reshape(transpose(keys, 1, 2), [B, C, h, w])); // [B, C/8, 4h, 4w]
      const [, Cu, H4, W4] = up.shape;
      const hyper = stack(this.hypernetworks.items.map((mlp, i) => mlp.forward(reshape(slice(hs, 1, 1 + i, 2 + i), [B, C]))), 1);
      const masks = reshape(matmul(hyper, reshape(up, [B, Cu, H4 * W4])), [B, this.numMaskTokens, H4, W4]);
      return { masks, iouPred: this.iouPredictionHead.forward(iouOut) };
    });
  }

  /** Low-resolution mask logits [B, 3 or 1, 4h, 4w] and IoU predictions [B, 3 or 1]. */
  forward(x: MaskDecoderInputs): { masks: Tensor; iouPred: Tensor } {
    return scope(() => {
      const { masks, iouPred } = this.predictMasks(x.imageEmbeddings, x.imagePe, x.sparse, x.dense);
      const [a, b] = x.multimaskOutput ? [1, this.numMaskTokens] : [0, 1];
      return { masks: slice(masks, 1, a, b), iouPred: slice(iouPred, 1, a, b) };
    });
  }
}
