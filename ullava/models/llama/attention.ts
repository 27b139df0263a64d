// LLaMA self-attention: q/k/v/o projections without bias, rotary embeddings on q and k, grouped-query
// attention (num_key_value_heads may be fewer than the query heads), causal, through nn's single
// attention entry point. With a KV cache the new keys/values are written into the cache and attention
// runs over everything cached so far (causal aligns the queries to the end of the keys).
import { Tensor, reshape, permute, scope, slice, concat } from '../../../engine/index.js';
import { Module, Linear, attention, withSeed, type LayerOptions } from '../../../nn/index.js';
import { headDim, type LlamaConfig } from './config.js';
import { applyRotary } from './rope.js';
import type { KVCache } from './kv-cache.js';

/** What a projection must offer: a Linear, or a LoRALinear wrapping one. */
export type Projection = Module & { forward(x: Tensor): Tensor };

export interface AttentionContext {
  cos: Tensor;
  sin: Tensor;
  /** Additive key bias [B, 1, 1, Skv] for padding, or null. */
  bias: Tensor | null;
  cache?: KVCache | null;
  /**
   * Continuous batching: one KV cache per row of the batch (each of batch 1, each at its own length).
   * The projections run on the whole batch; attention runs row by row over that row's own cache, with
   * `rowBias[b]` ([1, 1, 1, Skv_b] or null) hiding that cache's padding. Exclusive with `cache`.
   */
  rowCaches?: KVCache[] | null;
  rowBias?: (Tensor | null)[] | null;
  layer: number;
}

export class LlamaAttention extends Module {
  q_proj: Projection;
  k_proj: Projection;
  v_proj: Projection;
  o_proj: Projection;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;

  constructor(c: LlamaConfig, o: LayerOptions = {}) {
    super();
    this.numHeads = c.numAttentionHeads;
    this.numKvHeads = c.numKeyValueHeads;
    this.headDim = headDim(c);
    const H = c.hiddenSize, kvOut = this.numKvHeads * this.headDim;
    this.q_proj = this.module('q_proj', new Linear(H, H, { ...withSeed(o, 0), bias: false }));
    this.k_proj = this.module('k_proj', new Linear(H, kvOut, { ...withSeed(o, 1), bias: false }));
    this.v_proj = this.module('v_proj', new Linear(H, kvOut, { ...withSeed(o, 2), bias: false }));
    this.o_proj = this.module('o_proj', new Linear(H, H, { ...withSeed(o, 3), bias: false }));
  }

  /** Swaps a projection (e.g. for a LoRALinear wrapping it); the state dict keys follow the new module. */
  replaceProjection(name: 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj', m: Projection): void {
    this[name] = this.module(name, m);
  }

  /** x [B, S, hidden] -> [B, S, hidden]. */
  forward(x: Tensor, ctx: AttentionContext): Tensor {
    const [B, S] = x.shape;
    const { numHeads: H, numKvHeads: Hkv, headDim: D } = this;
    return scope(() => {
      const heads = (t: Tensor, n: number) => permute(reshape(t, [B, S, n, D]), [0, 2, 1, 3]);
      const q = applyRotary(heads(this.q_proj.forward(x), H), ctx.cos, ctx.sin);
      let k = applyRotary(heads(this.k_proj.forward(x), Hkv), ctx.cos, ctx.sin);
      let v = heads(this.v_proj.forward(x), Hkv);
      const scale = 1 / Math.sqrt(D);
      let o: Tensor;
      if (ctx.rowCaches) {
        const rows = ctx.rowCaches.map((cache, b) => {
          const row = (t: Tensor) => slice(t, 0, b, b + 1);
          const kv = cache.append(ctx.layer, row(k), row(v));
          return attention(row(q), kv.k, kv.v, { causal: true, bias: ctx.rowBias?.[b] ?? null, scale });
        });
        o = rows.length === 1 ? rows[0] : concat(rows, 0);
      } else {
        if (ctx.cache) ({ k, v } = ctx.cache.append(ctx.layer, k, v));
        o = attention(q, k, v, { causal: true, bias: ctx.bias, scale });
      }
      return this.o_proj.forward(reshape(permute(o, [0, 2, 1, 3]), [B, S, H * D]));
    });
  }
}
