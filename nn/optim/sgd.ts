// SGD with torch.optim.SGD's semantics: weight decay added to the gradient, a momentum buffer that
// starts as the first gradient, dampening, optional Nesterov; one fused dispatch per parameter.
import type { Tensor } from '../../engine/index.js';
import { sgdKernel } from '../../kernels/optim.js';
import { Optimizer, cachedKernel, f32Bits, type BaseHyper, type ParamGroup, type ParamGroupSpec } from './optimizer.js';

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

  protected slotNames(g: ParamGroup<SGDHyper>): string[] { return g.momentum !== 0 ? ['momentum_buffer'] : []; }

  protected dispatchUpdate(e: Parameters<Optimizer<SGDHyper>['dispatchUpdate']>[0], g: ParamGroup<SGDHyper>, grad: Tensor, slots: Tensor[]): void {
    const master = e.master !== null;
    const mom = g.momentum !== 0;
    const kernel = cachedKernel(`sgd|${e.dtype}|${master}|${mom}|${g.nesterov}`, () => sgdKernel(e.dtype, master, mom, g.nesterov));
    this.launchUpdate(kernel, e, grad, slots, [g.lr, g.weightDecay, g.momentum, 1 - g.dampening].map(f32Bits));
  }
}
