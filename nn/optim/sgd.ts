// SGD with torch.optim.SGD's semantics: weight decay added to the gradient, a momentum buffer that
// starts as the first gradient, dampening, optional Nesterov; fused into multi-tensor dispatches.
import type { Tensor } from '../../engine/index.js';
import { Optimizer, f32Bits, type BaseHyper, type ParamGroup, type ParamGroupSpec } from './optimizer.js';

export interface SGDHyper extends BaseHyper {
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

export interface SGDOptions extends Partial<SGDHyper> {
  /** Keep f32 master weights for bf16/f16 parameters (default true). */
  masterWeights?: boolean;
}

export const SGD_DEFAULTS: SGDHyper = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false };

export class SGD extends Optimizer<SGDHyper> {
  readonly kind = 'sgd';
  protected readonly rule = 'sgd';

  constructor(params: Iterable<Tensor | [string, Tensor]> | ParamGroupSpec<SGDHyper>[], opts: SGDOptions = {}) {
    const { masterWeights, ...hyper } = opts;
    super(params, { ...SGD_DEFAULTS, ...hyper }, masterWeights ?? true);
  }

  protected override checkHyper(h: SGDHyper, where: string): void {
    super.checkHyper(h, where);
    if (!(h.momentum >= 0)) throw new RangeError(`SGD ${where}: momentum must be >= 0, got ${h.momentum}`);
    if (!Number.isFinite(h.dampening)) throw new RangeError(`SGD ${where}: dampening must be a number, got ${h.dampening}`);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw new RangeError(`SGD ${where}: Nesterov momentum requires a momentum > 0 and zero dampening`);
    }
  }

  // One momentum buffer per parameter when any group uses momentum (a group without it ignores its own).
  protected slotNames(): string[] { return this.paramGroups.some((g) => g.momentum !== 0) ? ['momentum_buffer'] : []; }

  protected ruleScalars(g: ParamGroup<SGDHyper>): number[] {
    return [f32Bits(g.lr), f32Bits(g.weightDecay), f32Bits(g.momentum), f32Bits(1 - g.dampening), g.momentum !== 0 ? 1 : 0, g.nesterov ? 1 : 0];
  }
}
