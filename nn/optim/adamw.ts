// AdamW with torch.optim.AdamW's semantics (decoupled weight decay p *= 1 - lr wd, bias correction,
// eps added outside the square root; amsgrad is not implemented), fused into multi-tensor dispatches.
import type { Tensor } from '../../engine/index.js';
import { Optimizer, f32Bits, type BaseHyper, type ParamGroup, type ParamGroupSpec } from './optimizer.js';

export interface AdamWHyper extends BaseHyper {
  betas: [number, number];
  eps: number;
}

export interface AdamWOptions extends Partial<AdamWHyper> {
  /** Keep f32 master weights for bf16/f16 parameters (default true). */
  masterWeights?: boolean;
}

/** PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2. */
export const ADAMW_DEFAULTS: AdamWHyper = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2 };

export class AdamW extends Optimizer<AdamWHyper> {
  readonly kind = 'adamw';
  protected readonly rule = 'adamw';

  constructor(params: Iterable<Tensor | [string, Tensor]> | ParamGroupSpec<AdamWHyper>[], opts: AdamWOptions = {}) {
    const { masterWeights, ...hyper } = opts;
    super(params, { ...ADAMW_DEFAULTS, ...hyper }, masterWeights ?? true);
  }

  protected override checkHyper(h: AdamWHyper, where: string): void {
    super.checkHyper(h, where);
    const [b1, b2] = h.betas ?? [];
    if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) throw new RangeError(`AdamW ${where}: betas must be in [0, 1), got [${h.betas}]`);
    if (!(h.eps >= 0)) throw new RangeError(`AdamW ${where}: eps must be >= 0, got ${h.eps}`);
  }

  protected slotNames(): string[] { return ['exp_avg', 'exp_avg_sq']; }

  protected ruleScalars(g: ParamGroup<AdamWHyper>): number[] {
    const [b1, b2] = g.betas;
    // As Python computes them (float64), rounded once to f32.
    return [g.lr, 1 - g.lr * g.weightDecay, b1, 1 - b1, b2, 1 - b2, Math.log(b1), Math.log(b2), g.eps].map(f32Bits);
  }
}
