// CLIP's transformer encoder (HF CLIPEncoder): pre-norm layers of multi-head self-attention (no mask:
// every patch sees every patch) and a two-layer MLP, each added back to the residual stream.
import { Tensor, reshape, permute, add, scope } from '../../../engine/index.js';
import { Module, ModuleList, Linear, LayerNorm, attention, activate, withSeed, type Activation, type LayerOptions } from '../../../nn/index.js';
import type { ClipVisionConfig, ClipActivation } from './config.js';

const ACTIVATION: Record<ClipActivation, Activation> = {
  quick_gelu: 'quick_gelu', gelu: 'gelu', gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh', relu: 'relu',
};


export class ClipAttention extends Module {
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly outProj: Linear;
  readonly heads: number;

  constructor(readonly config: ClipVisionConfig, o: LayerOptions = {}) {
    super();
    const D = config.hiddenSize;
    this.heads = config.numAttentionHeads;
    this.kProj = this.module('k_proj', new Linear(D, D, withSeed(o, 0)));
    this.vProj = this.module('v_proj', new Linear(D, D, withSeed(o, 2)));
    this.qProj = this.module('q_proj', new Linear(D, D, withSeed(o, 4)));
    this.outProj = this.module('out_proj', new Linear(D, D, withSeed(o, 6)));
  }

  /** x [B, S, D] -> [B, S, D]. */
  forward(x: Tensor): Tensor {
    const [B, S, D] = x.shape;
    const H = this.heads, Dh = D / H;
    return scope(() => {
      const split = (t: Tensor) => permute(reshape(t, [B, S, H, Dh]), [0, 2, 1, 3]); // [B, H, S, Dh]
      const o = attention(split(this.qProj.forward(x)), split(this.kProj.forward(x)), split(this.vProj.forward(x)));
      return this.outProj.forward(reshape(permute(o, [0, 2, 1, 3]), [B, S, D]));
    });
  }
}

export class ClipMLP extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly activation: Activation;
  constructor(readonly config: ClipVisionConfig, o: LayerOptions = {}) {
    super();
    this.activation = ACTIVATION[config.hiddenAct];
    this.fc1 = this.module('fc1', new Linear(config.hiddenSize, config.intermediateSize, withSeed(o, 0)));
    this.fc2 = this.module('fc2', new Linear(config.intermediateSize, config.hiddenSize, withSeed(o, 2)));
  }
  forward(x: Tensor): Tensor {
    return scope(() => this.fc2.forward(activate(this.fc1.forward(x), this.activation)));
  }
}

export class ClipEncoderLayer extends Module {
  readonly selfAttn: ClipAttention;
  readonly layerNorm1: LayerNorm;
  readonly mlp: ClipMLP;
  readonly layerNorm2: LayerNorm;
  constructor(readonly config: ClipVisionConfig, o: LayerOptions = {}) {
    super();
    const D = config.hiddenSize, eps = config.layerNormEps;
    this.selfAttn = this.module('self_attn', new ClipAttention(config, withSeed(o, 0)));
    this.layerNorm1 = this.module('layer_norm1', new LayerNorm(D, eps, o));
    this.mlp = this.module('mlp', new ClipMLP(config, withSeed(o, 10)));
    this.layerNorm2 = this.module('layer_norm2', new LayerNorm(D, eps, o));
  }
  /** x [B, S, D] -> [B, S, D]. */
  forward(x: Tensor): Tensor {
    return scope(() => {
      const h = add(x, this.selfAttn.forward(this.layerNorm1.forward(x)));
      return add(h, this.mlp.forward(this.layerNorm2.forward(h)));
    });
  }
}

export class ClipEncoder extends Module {
  readonly layers: ModuleList<ClipEncoderLayer>;
  constructor(readonly config: ClipVisionConfig, o: LayerOptions = {}) {
    super();
    this.layers = this.module('layers', new ModuleList(Array.from({ length: config.numHiddenLayers },
      (_, i) => new ClipEncoderLayer(config, withSeed(o, 100 * i)))));
  }

  /**
   * Runs layers [0, upTo) on x and returns every layer's output (x itself is not included). With
   * keepAll false only the last output is kept (the others are disposed as soon as they are used).
   */
  forward(x: Tensor, upTo = this.layers.length, keepAll = true): Tensor[] {
    const out: Tensor[] = [];
    let h = x;
    for (let i = 0; i < upTo; i++) {
      const next = this.layers.at(i).forward(h);
      if (!keepAll && h !== x) h.dispose();
      if (keepAll) out.push(next);
      h = next;
    }
    if (!keepAll && h !== x) out.push(h);
    return out;
  }
}
