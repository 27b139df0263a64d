// LLaMA / Vicuna as HF's LlamaForCausalLM: `model.embed_tokens`, `model.layers.{i}.*`, `model.norm`,
// `lm_head` (absent when the embeddings are tied). forward() takes token ids or input embeddings (how
// image features are spliced in), an attention mask (left padding for batched generation), optional
// position ids and a KV cache, and returns the logits and the final-norm hidden states (u-LLaVA reads
// the [SEG] state from them).
import {
  Tensor, embedding, linear, reshape, cast, where, le, arange, matmul, sub, mul, slice, scope, noGrad,
  type DType,
} from '../../../engine/index.js';
import { Module, ModuleList, Embedding, RMSNorm, Linear, withSeed, type LayerOptions } from '../../../nn/index.js';
import { ShapeError } from '../../../engine/errors.js';
import { headDim, validateConfig, type LlamaConfig } from './config.js';
import { RotaryEmbedding } from './rope.js';
import { LlamaDecoderLayer } from './decoder-layer.js';
import type { KVCache } from './kv-cache.js';

/**
 * The additive bias that hides padding keys. Finite (the most negative f16) rather than -inf: a
 * left-padding query row sees no real key at all, and a finite bias keeps its (unused) output finite
 * in every attention implementation, so no NaN can leak into real rows through 0 x NaN. For real rows
 * the masked keys' weights are exactly zero (exp of about -65504 underflows in f32).
 */
export const PAD_BIAS = -65504;

export interface LlamaForwardInput {
  /** Token ids [B, S] (i32). Exactly one of inputIds / inputsEmbeds. */
  inputIds?: Tensor;
  /** Input embeddings [B, S, hidden] (in the model's dtype or f32). */
  inputsEmbeds?: Tensor;
  /**
   * [B, S] for the new tokens or [B, past + S] for all of them (HF), any dtype, 1 = token, 0 = padding.
   * Without a cache, [B, S]. Left padding is what batched generation uses.
   */
  attentionMask?: Tensor | null;
  /** [B, S] or [1, S] i32; default: from the cumulative mask (as HF generate), else past .. past+S-1. */
  positionIds?: Tensor | null;
  kvCache?: KVCache | null;
  /** Compute the logits of the last position only ([B, 1, V]): what each generation step needs. */
  lastLogitsOnly?: boolean;
}

export interface LlamaForwardOutput {
  /** [B, S, V] (or [B, 1, V]) in the model's dtype. */
  logits: Tensor;
  /** Final-norm hidden states [B, S, hidden]. */
  hidden: Tensor;
  kvCache: KVCache | null;
}

export class LlamaModel extends Module {
  readonly embed_tokens: Embedding;
  readonly layers: ModuleList<LlamaDecoderLayer>;
  readonly norm: RMSNorm;
  constructor(readonly config: LlamaConfig, o: LayerOptions = {}) {
    super();
    this.embed_tokens = this.module('embed_tokens', new Embedding(config.vocabSize, config.hiddenSize, withSeed(o, 0)));
    this.layers = this.module('layers', new ModuleList(Array.from({ length: config.numHiddenLayers },
      (_, i) => new LlamaDecoderLayer(config, withSeed(o, 100 * (i + 1))))));
    this.norm = this.module('norm', new RMSNorm(config.hiddenSize, config.rmsNormEps, { dtype: o.dtype }));
  }
}

export class LlamaForCausalLM extends Module {
  readonly model: LlamaModel;
  readonly lm_head: Linear | null;
  readonly rotary: RotaryEmbedding;
  readonly config: LlamaConfig;

  /** Parameters are created in o.dtype (default f32); o.seed makes the random initialisation reproducible. */
  constructor(config: LlamaConfig, o: LayerOptions = {}) {
    super();
    this.config = validateConfig(config);
    this.model = this.module('model', new LlamaModel(config, o));
    this.lm_head = config.tieWordEmbeddings ? null
      : this.module('lm_head', new Linear(config.hiddenSize, config.vocabSize, { ...withSeed(o, 7), bias: false }));
    this.rotary = new RotaryEmbedding(headDim(config), config.ropeTheta, config.maxPositionEmbeddings);
  }

  get dtype(): DType { return this.model.embed_tokens.weight.dtype; }

  /** The input embeddings of token ids [B, S] -> [B, S, hidden] (for splicing in image features). */
  embed(inputIds: Tensor): Tensor { return embedding(this.model.embed_tokens.weight, inputIds); }

  forward(inp: LlamaForwardInput): LlamaForwardOutput {
    const c = this.config;
    if (!!inp.inputIds === !!inp.inputsEmbeds) throw new ShapeError('LlamaForCausalLM.forward: give exactly one of inputIds and inputsEmbeds');
    if (inp.inputIds && (inp.inputIds.rank !== 2 || inp.inputIds.dtype !== 'i32')) {
      throw new ShapeError(`LlamaForCausalLM.forward: inputIds must be [B, S] i32, got [${inp.inputIds.shape}] ${inp.inputIds.dtype}`);
    }
    if (inp.inputsEmbeds && (inp.inputsEmbeds.rank !== 3 || inp.inputsEmbeds.shape[2] !== c.hiddenSize)) {
      throw new ShapeError(`LlamaForCausalLM.forward: inputsEmbeds must be [B, S, ${c.hiddenSize}], got [${inp.inputsEmbeds.shape}]`);
    }
    const [B, S] = (inp.inputIds ?? inp.inputsEmbeds)!.shape;
    const cache = inp.kvCache ?? null;
    const past = cache?.length ?? 0;
    if (cache && cache.batch !== B) throw new ShapeError(`LlamaForCausalLM.forward: batch ${B} does not match the cache's ${cache.batch}`);
    const m = inp.attentionMask ?? null;
    if (m && (m.rank !== 2 || m.shape[0] !== B || (m.shape[1] !== S && m.shape[1] !== past + S))) {
      throw new ShapeError(`LlamaForCausalLM.forward: attentionMask [${m.shape}] must be [${B}, ${S}] or [${B}, ${past + S}]`);
    }
    if (inp.positionIds && (inp.positionIds.rank !== 2 || inp.positionIds.dtype !== 'i32' || inp.positionIds.shape[1] !== S ||
      (inp.positionIds.shape[0] !== B && inp.positionIds.shape[0] !== 1))) {
      throw new ShapeError(`LlamaForCausalLM.forward: positionIds must be [${B} or 1, ${S}] i32, got [${inp.positionIds.shape}] ${inp.positionIds.dtype}`);
    }
    const out = scope(() => {
      // The mask of every key position, [B, past + S] f32 (null: no padding anywhere).
      let full: Tensor | null = null;
      if (cache) {
        const newPart = m && m.shape[1] === past + S ? slice(m, 1, past) : m;
        const all = cache.pushMask(newPart, S);
        if (cache.hasPadding) full = all;
      } else if (m) {
        full = m.dtype === 'f32' ? m : cast(m, 'f32');
      }
      const positions = inp.positionIds ?? this.positionsFrom(full, past, S);
      const x0 = inp.inputsEmbeds ?? this.embed(inp.inputIds!);
      const { cos, sin } = this.rotary.cosSin(positions, Math.max(past + S, c.maxPositionEmbeddings), x0.dtype === 'f32' ? 'f32' : x0.dtype);
      const bias = full ? reshape(mul(sub(1, full), PAD_BIAS), [B, 1, 1, past + S]) : null;
      let h = x0;
      this.model.layers.items.forEach((layer, i) => {
        const next = layer.forward(h, { cos, sin, bias, cache, layer: i });
        if (h !== x0) h.dispose();
        h = next;
      });
      const hidden = this.model.norm.forward(h);
      const last = inp.lastLogitsOnly ? slice(hidden, 1, S - 1) : hidden;
      const logits = this.lm_head ? this.lm_head.forward(last) : linear(last, this.model.embed_tokens.weight);
      return { logits, hidden };
    });
    cache?.advance(S);
    return { ...out, kvCache: cache };
  }

  /**
   * One decode step for B independent sequences, each with its own KV cache (batch 1, each at its own
   * length): what continuous batching needs, since sequences join and leave the running batch at any step.
   * inputIds [B, 1] i32 (row b is sequence b's newest token). The matmuls (projections, MLP, lm_head) run
   * once on the whole batch; attention runs per row over that row's cache. Returns logits [B, 1, V] and
   * the final-norm hidden states [B, 1, hidden]; every cache advances by one token.
   * The caches must hold no padding (prefill each sequence alone, without an attention mask), so each
   * row's position is simply its cache's length.
   */
  decodeRows(inputIds: Tensor, caches: KVCache[]): { logits: Tensor; hidden: Tensor } {
    const B = caches.length;
    if (inputIds.rank !== 2 || inputIds.dtype !== 'i32' || inputIds.shape[0] !== B || inputIds.shape[1] !== 1) {
      throw new ShapeError(`LlamaForCausalLM.decodeRows: inputIds must be [${B}, 1] i32 (one token per cache), got [${inputIds.shape}] ${inputIds.dtype}`);
    }
    caches.forEach((c, b) => {
      if (c.batch !== 1) throw new ShapeError(`LlamaForCausalLM.decodeRows: cache ${b} has batch ${c.batch}; each row needs a cache of batch 1`);
      if (c.hasPadding) throw new ShapeError(`LlamaForCausalLM.decodeRows: cache ${b} holds padding; prefill each sequence alone, without an attention mask`);
    });
    if (new Set(caches).size !== B) throw new ShapeError('LlamaForCausalLM.decodeRows: the same cache appears in two rows');
    const device = this.model.embed_tokens.weight.device;
    const out = scope(() => {
      for (const c of caches) c.pushMask(null, 1).dispose();
      const positions = Tensor.fromHost(Int32Array.from(caches, (c) => c.length), [B, 1], 'i32', device);
      const x0 = this.embed(inputIds);
      const maxLen = Math.max(...caches.map((c) => c.length + 1));
      const { cos, sin } = this.rotary.cosSin(positions, Math.max(maxLen, this.config.maxPositionEmbeddings), x0.dtype === 'f32' ? 'f32' : x0.dtype);
      let h = x0;
      this.model.layers.items.forEach((layer, i) => {
        const next = layer.forward(h, { cos, sin, bias: null, rowCaches: caches, layer: i });
        if (h !== x0) h.dispose();
        h = next;
      });
      const hidden = this.model.norm.forward(h);
      const logits = this.lm_head ? this.lm_head.forward(hidden) : linear(hidden, this.model.embed_tokens.weight);
      return { logits, hidden };
    });
    for (const c of caches) c.advance(1);
    return out;
  }

  /**
   * HF generate's position ids: cumsum(mask) - 1 over every position, the last S taken, padding set to 1.
   * The cumulative sum is a matmul with a triangular 0/1 matrix ([past+S, S]), exact in f32.
   */
  private positionsFrom(full: Tensor | null, past: number, S: number): Tensor {
    const device = this.model.embed_tokens.weight.device;
    if (!full) return reshape(arange(past, past + S, 1, 'i32', device), [1, S]);
    return noGrad(() => scope(() => {
      const L = past + S;
      const j = reshape(arange(0, L, 1, 'i32', device), [L, 1]);
      const i = reshape(arange(past, L, 1, 'i32', device), [1, S]);
      const tri = where(le(j, i), 1, 0);
      const cum = matmul(full, tri);
      const mine = slice(full, 1, past);
      return cast(where(mine, sub(cum, 1), 1), 'i32');
    }));
  }

  override dispose(): void {
    super.dispose();
    this.rotary.dispose();
  }
}
