// LLaMA's feed-forward block: SwiGLU, down(silu(gate(x)) * up(x)), no biases; keys gate_proj, up_proj, down_proj.
import { Tensor, silu, mul, scope } from '../../../engine/index.js';
import { Module, Linear, type LayerOptions } from '../../../nn/index.js';
import type { LlamaConfig } from './config.js';

export class LlamaMLP extends Module {
  readonly gate_proj: Linear;
  readonly up_proj: Linear;
  readonly down_proj: Linear;
  constructor(c: LlamaConfig, o: LayerOptions = {}) {
    super();
    const seed = (k: number) => (o.seed === undefined ? undefined : o.seed + k);
    this.gate_proj = this.module('gate_proj', new Linear(c.hiddenSize, c.intermediateSize, { bias: false, dtype: o.dtype, seed: seed(0) }));
    this.up_proj = this.module('up_proj', new Linear(c.hiddenSize, c.intermediateSize, { bias: false, dtype: o.dtype, seed: seed(1) }));
    this.down_proj = this.module('down_proj', new Linear(c.intermediateSize, c.hiddenSize, { bias: false, dtype: o.dtype, seed: seed(2) }));
  }
  forward(x: Tensor): Tensor {
    return scope(() => this.down_proj.forward(mul(silu(this.gate_proj.forward(x)), this.up_proj.forward(x))));
  }
}
