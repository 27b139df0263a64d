// LLaMA's feed-forward block: SwiGLU, down(silu(gate(x)) * up(x)), no biases; keys gate_proj, up_proj, down_proj.
import { Tensor, silu, mul, scope } from '../../../engine/index.js';
import { Module, Linear, withSeed, type LayerOptions } from '../../../nn/index.js';
import type { LlamaConfig } from './config.js';

export class LlamaMLP extends Module {
  readonly gate_proj: Linear;
  readonly up_proj: Linear;
  readonly down_proj: Linear;
  constructor(c: LlamaConfig, o: LayerOptions = {}) {
    super();
    this.gate_proj = this.module('gate_proj', new Linear(c.hiddenSize, c.intermediateSize, { ...withSeed(o, 0), bias: false }));
    this.up_proj = this.module('up_proj', new Linear(c.hiddenSize, c.intermediateSize, { ...withSeed(o, 1), bias: false }));
    this.down_proj = this.module('down_proj', new Linear(c.intermediateSize, c.hiddenSize, { ...withSeed(o, 2), bias: false }));
  }
  forward(x: Tensor): Tensor {
    return scope(() => this.down_proj.forward(mul(silu(this.gate_proj.forward(x)), this.up_proj.forward(x))));
  }
}
