// LoRA (Hu et al.): y = x Wᵀ + b + (dropout(x) Aᵀ Bᵀ) · alpha / r, with A [r, in] and B [out, r].
// B starts at zero so training starts from the base model. Keys follow PEFT's LoRA layer:
// `weight`, `bias`, `lora_A.weight`, `lora_B.weight`.
import { Tensor, linear, add, mul, matmul, sub, dropout, noGrad, cast } from '../engine/index.js';
import { Module } from './module.js';
import { Linear, type LayerOptions } from './layers.js';

export interface LoraOptions extends LayerOptions { r?: number; alpha?: number; dropout?: number }

export class LoRALinear extends Module {
  readonly base: Linear;
  readonly loraA: Linear;
  readonly loraB: Linear;
  readonly scale: number;
  readonly dropoutP: number;
  private mergedFlag = false;

  /** Wraps an existing Linear; the base weights are frozen, only A and B train. */
  constructor(base: Linear, o: LoraOptions = {}) {
    super();
    const r = o.r ?? 8;
    this.scale = (o.alpha ?? 16) / r;
    this.dropoutP = o.dropout ?? 0;
    this.base = base;
    // The base's parameters are registered under this module's own names (PEFT's layout).
    this.param('weight', base.weight).requireGrad(false);
    if (base.bias) this.param('bias', base.bias).requireGrad(false);
    const dtype = o.dtype ?? base.weight.dtype;
    this.loraA = this.module('lora_A', new Linear(base.inFeatures, r, { bias: false, dtype, seed: o.seed }));
    this.loraB = this.module('lora_B', new Linear(r, base.outFeatures, { bias: false, dtype }));
    noGrad(() => { const z = mul(this.loraB.weight, 0); this.loraB.weight.assign(z); z.dispose(); });
  }

  get merged(): boolean { return this.mergedFlag; }

  forward(x: Tensor): Tensor {
    const y = linear(x, this.base.weight, this.base.bias);
    if (this.mergedFlag) return y;
    const xd = dropout(x, this.dropoutP, this.training);
    const a = this.loraA.forward(xd);
    const b = this.loraB.forward(a);
    const s = mul(b, this.scale);
    const out = add(y, s);
    for (const t of [y, xd, a, b, s]) t.dispose();
    return out;
  }

  private delta(): Tensor {
    const ba = matmul(this.loraB.weight, this.loraA.weight);
    const d = mul(ba, this.scale);
    ba.dispose();
    if (d.dtype === this.base.weight.dtype) return d;
    const c = cast(d, this.base.weight.dtype);
    d.dispose();
    return c;
  }

  /** Folds B·A·scale into the base weight (for inference: no extra cost per token). */
  merge(): void {
    if (this.mergedFlag) return;
    noGrad(() => { const d = this.delta(); const w = add(this.base.weight, d); this.base.weight.assign(w); d.dispose(); w.dispose(); });
    this.mergedFlag = true;
  }

  /** Undoes merge() (up to rounding in 16-bit weights). */
  unmerge(): void {
    if (!this.mergedFlag) return;
    noGrad(() => { const d = this.delta(); const w = sub(this.base.weight, d); this.base.weight.assign(w); d.dispose(); w.dispose(); });
    this.mergedFlag = false;
  }
}
