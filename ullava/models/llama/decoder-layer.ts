// One LLaMA decoder layer (pre-norm): h = x + attn(norm1(x)); out = h + mlp(norm2(h)).
import { Tensor, add, scope } from '../../../engine/index.js';
import { Module, RMSNorm, withSeed, type LayerOptions } from '../../../nn/index.js';
import type { LlamaConfig } from './config.js';
import { LlamaAttention, type AttentionContext } from './attention.js';
import { LlamaMLP } from './mlp.js';

export class LlamaDecoderLayer extends Module {
  readonly self_attn: LlamaAttention;
  readonly mlp: LlamaMLP;
  readonly input_layernorm: RMSNorm;
  readonly post_attention_layernorm: RMSNorm;

  constructor(c: LlamaConfig, o: LayerOptions = {}) {
    super();
    this.self_attn = this.module('self_attn', new LlamaAttention(c, withSeed(o, 0)));
    this.mlp = this.module('mlp', new LlamaMLP(c, withSeed(o, 10)));
    this.input_layernorm = this.module('input_layernorm', new RMSNorm(c.hiddenSize, c.rmsNormEps, { dtype: o.dtype }));
    this.post_attention_layernorm = this.module('post_attention_layernorm', new RMSNorm(c.hiddenSize, c.rmsNormEps, { dtype: o.dtype }));
  }

  forward(x: Tensor, ctx: AttentionContext): Tensor {
    return scope(() => {
      const h = add(x, this.self_attn.forward(this.input_layernorm.forward(x), ctx));
      return add(h, this.mlp.forward(this.post_attention_layernorm.forward(h)));
    });
  }
}
