// The mask decoder's two-way transformer: prompt tokens and image tokens attend to each other (tokens ->
// image, image -> tokens) with the positional encodings re-added to queries and keys at every attention.
import { Tensor, reshape, transpose, permute, add, scope } from '../../../engine/index.js';
import { Module, ModuleList, Linear, LayerNorm, attention } from '../../../nn/index.js';
import { MLPBlock } from './common.js';

/** Attention whose q/k/v projections may shrink the width by `downsampleRate` (keys q_proj, k_proj, v_proj, out_proj). */
export class DecoderAttention extends Module {
  readonly qProj: Linear; readonly kProj: Linear; readonly vProj: Linear; readonly outProj: Linear;
  readonly internalDim: number;
  constructor(readonly dim: number, readonly numHeads: number, downsampleRate = 1) {
    super();
    this.internalDim = dim / downsampleRate;
    if (!Number.isInteger(this.internalDim) || this.internalDim % numHeads) {
      throw new RangeError(`SAM decoder attention: ${numHeads} heads must divide ${dim} / ${downsampleRate}`);
    }
    this.qProj = this.module('q_proj', new Linear(dim, this.internalDim));
    this.kProj = this.module('k_proj', new Linear(dim, this.internalDim));
    this.vProj = this.module('v_proj', new Linear(dim, this.internalDim));
    this.outProj = this.module('out_proj', new Linear(this.internalDim, dim));
  }
  private heads(x: Tensor): Tensor {
    const [B, N] = x.shape;
    return transpose(reshape(x, [B, N, this.numHeads, this.internalDim / this.numHeads]), 1, 2);
  }
  /** q [B, Nq, dim], k and v [B, Nk, dim] -> [B, Nq, dim]. */
  forward(q: Tensor, k: Tensor, v: Tensor): Tensor {
    return scope(() => {
      const o = attention(this.heads(this.qProj.forward(q)), this.heads(this.kProj.forward(k)), this.heads(this.vProj.forward(v)));
      const [B, , Nq] = o.shape;
      return this.outProj.forward(reshape(permute(o, [0, 2, 1, 3]), [B, Nq, this.internalDim]));
    });
  }
}

export class TwoWayAttentionBlock extends Module {
  readonly selfAttn: DecoderAttention; readonly norm1: LayerNorm;
  readonly crossAttnTokenToImage: DecoderAttention; readonly norm2: LayerNorm;
  readonly mlp: MLPBlock; readonly norm3: LayerNorm;
  readonly norm4: LayerNorm; readonly crossAttnImageToToken: DecoderAttention;
  constructor(dim: number, numHeads: number, mlpDim: number, downsampleRate: number, readonly skipFirstLayerPe: boolean) {
    super();
    this.selfAttn = this.module('self_attn', new DecoderAttention(dim, numHeads));
    this.norm1 = this.module('norm1', new LayerNorm(dim));
    this.crossAttnTokenToImage = this.module('cross_attn_token_to_image', new DecoderAttention(dim, numHeads, downsampleRate));
    this.norm2 = this.module('norm2', new LayerNorm(dim));
    this.mlp = this.module('mlp', new MLPBlock(dim, mlpDim, 'relu'));
    this.norm3 = this.module('norm3', new LayerNorm(dim));
    this.norm4 = this.module('norm4', new LayerNorm(dim));
    this.crossAttnImageToToken = this.module('cross_attn_image_to_token', new DecoderAttention(dim, numHeads, downsampleRate));
  }
  forward(queries: Tensor, keys: Tensor, queryPe: Tensor, keyPe: Tensor): { queries: Tensor; keys: Tensor } {
    return scope(() => {
      let qs: Tensor;
      if (this.skipFirstLayerPe) {
        qs = this.selfAttn.forward(queries, queries, queries);
      } else {
        const q = add(queries, queryPe);
        qs = add(queries, this.selfAttn.forward(q, q, queries));
      }
      qs = this.norm1.forward(qs);
      const kpe = add(keys, keyPe);
      qs = this.norm2.forward(add(qs, this.crossAttnTokenToImage.forward(add(qs, queryPe), kpe, keys)));
      qs = this.norm3.forward(add(qs, this.mlp.forward(qs)));
      const ks = this.norm4.forward(add(keys, this.crossAttnImageToToken.forward(kpe, add(qs, queryPe), qs)));
      return { queries: qs, keys: ks };
    });
  }
}

export class TwoWayTransformer extends Module {
  readonly layers: ModuleList<TwoWayAttentionBlock>;
  readonly finalAttnTokenToImage: DecoderAttention;
  readonly normFinalAttn: LayerNorm;
  constructor(depth: number, readonly dim: number, numHeads: number, mlpDim: number, downsampleRate = 2) {
    super();
    this.layers = this.module('layers', new ModuleList(Array.from({ length: depth }, (_, i) =>
      new TwoWayAttentionBlock(dim, numHeads, mlpDim, downsampleRate, i === 0))));
    this.finalAttnTokenToImage = this.module('final_attn_token_to_image', new DecoderAttention(dim, numHeads, downsampleRate));
    this.normFinalAttn = this.module('norm_final_attn', new LayerNorm(dim));
  }
  /**
   * image [B, C, h, w], imagePe [B or 1, C, h, w], tokens [B, N, C] -> processed tokens [B, N, C] and
   * image tokens [B, h·w, C].
   */
  forward(image: Tensor, imagePe: Tensor, tokens: Tensor): { queries: Tensor; keys: Tensor } {
    return scope(() => {
      const [, C, h, w] = image.shape;
      const flat = (t: Tensor) => transpose(reshape(t, [t.shape[0], C, h * w]), 1, 2);
      let keys = flat(image);
      const keyPe = flat(imagePe);
      let queries = tokens;
      for (const layer of this.layers) ({ queries, keys } = layer.forward(queries, keys, tokens, keyPe));
      const attn = this.finalAttnTokenToImage.forward(add(queries, tokens), add(keys, keyPe), keys);
      return { queries: this.normFinalAttn.forward(add(queries, attn)), keys };
    });
  }
}
