// Float64 references of the optimizers, clipping and schedules, written from torch's documented
// algorithms (torch.optim.AdamW / SGD single-tensor loops, clip_grad_norm_, GradScaler).

export interface AdamWRefHyper { lr: number; betas: [number, number]; eps: number; weightDecay: number }

export interface RefParam { p: Float64Array; m: Float64Array; v: Float64Array; step: number }

export function newRefParam(values: ArrayLike<number>): RefParam {
  const p = Float64Array.from(values);
  return { p, m: new Float64Array(p.length), v: new Float64Array(p.length), step: 0 };
}

/** One AdamW step of one parameter with gradient g (already unscaled / clipped). */
export function adamwStepRef(s: RefParam, g: ArrayLike<number>, h: AdamWRefHyper): void {
  s.step++;
  const [b1, b2] = h.betas;
  const bc1 = 1 - b1 ** s.step, bc2 = 1 - b2 ** s.step;
  for (let i = 0; i < s.p.length; i++) {
    s.p[i] *= 1 - h.lr * h.weightDecay;
    s.m[i] = b1 * s.m[i] + (1 - b1) * g[i];
    s.v[i] = b2 * s.v[i] + (1 - b2) * g[i] * g[i];
    const denom = Math.sqrt(s.v[i]) / Math.sqrt(bc2) + h.eps;
    s.p[i] -= (h.lr / bc1) * s.m[i] / denom;
  }
}

export interface SGDRefHyper { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }

/** One SGD step (m holds the momentum buffer). */
export function sgdStepRef(s: RefParam, g: ArrayLike<number>, h: SGDRefHyper): void {
  s.step++;
  for (let i = 0; i < s.p.length; i++) {
    let d = g[i] + h.weightDecay * s.p[i];
    if (h.momentum !== 0) {
      s.m[i] = s.step === 1 ? d : h.momentum * s.m[i] + (1 - h.dampening) * d;
      d = h.nesterov ? d + h.momentum * s.m[i] : s.m[i];
    }
    s.p[i] -= h.lr * d;
  }
}

/** Global L2 norm and torch's clip coefficient min(maxNorm / (norm + 1e-6), 1). */
export function clipRef(grads: ArrayLike<number>[], maxNorm: number): { norm: number; coef: number } {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  const norm = Math.sqrt(s);
  return { norm, coef: Math.min(maxNorm / (norm + 1e-6), 1) };
}
