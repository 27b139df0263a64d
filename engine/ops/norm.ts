// Layer normalisation and RMS normalisation over the trailing axes, computed in f32 whatever the storage
// dtype. Written as compositions of recorded ops, so autograd derives the gradients of x, weight and
// bias; a fused single-pass kernel (forward and backward) is a later optimisation with these as reference.
import { Tensor } from '../tensor.js';
import { isFloat } from '../dtype.js';
import { cast } from './views.js';
import { mean } from './reduce.js';
import { add, sub, mul, rsqrt } from './elementwise.js';
import { ShapeError } from '../errors.js';

/** Runs fn, disposing every temporary it registered through `tmp` (they stay alive in the graph). */
function withTemps<T>(fn: (tmp: (t: Tensor) => Tensor) => T): T {
  const temps: Tensor[] = [];
  try { return fn((t) => { temps.push(t); return t; }); } finally { for (const t of temps) t.dispose(); }
}

/** x in f32: x itself (keeping its autograd history) or a recorded cast, registered as a temporary. */
function f32Of(x: Tensor, tmp: (t: Tensor) => Tensor): Tensor { return x.dtype === 'f32' ? x : tmp(cast(x, 'f32')); }

/**
 * torch.nn.functional.layer_norm: (x - mean) / sqrt(var + eps) * weight + bias over the trailing axes
 * given by `normalizedShape` (default: the last axis), biased variance. weight and bias have the shape
 * `normalizedShape`. The result has x's dtype.
 * Called as layerNorm(x, null, weight, bias, eps) for the default (last axis) normalized shape.
 */
export function layerNorm(x: Tensor, normalizedShape?: readonly number[] | number | null, weight?: Tensor | null,
  bias?: Tensor | null, eps = 1e-5): Tensor {
  x.assertAlive('layerNorm');
  if (!isFloat(x.dtype)) throw new TypeError(`layerNorm: needs a floating tensor, got ${x.dtype}`);
  const ns = normalizedShape === undefined || normalizedShape === null ? [x.shape[x.rank - 1]] : typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const k = ns.length;
  if (k === 0 || k > x.rank || ns.some((d, i) => d !== x.shape[x.rank - k + i])) {
    throw new ShapeError(`layerNorm: normalized shape [${ns}] is not the trailing shape of x [${x.shape}]`);
  }
  for (const [name, p] of [['weight', weight], ['bias', bias]] as const) {
    if (p && p.shape.join() !== ns.join()) throw new ShapeError(`layerNorm: ${name} [${p.shape}] must have the normalized shape [${ns}]`);
  }
  const axes = Array.from({ length: k }, (_, i) => x.rank - k + i);
  return withTemps((tmp) => {
    const xf = f32Of(x, tmp);
    const mu = tmp(mean(xf, axes, { keepDims: true }));
    const xc = tmp(sub(xf, mu));
    const v = tmp(mean(tmp(mul(xc, xc)), axes, { keepDims: true }));
    const r = tmp(rsqrt(tmp(add(v, eps))));
    let y = mul(xc, r);
    if (weight) { const w = f32Of(weight, tmp); const t = mul(y, w); y.dispose(); y = t; }
    if (bias) { const b = f32Of(bias, tmp); const t = add(y, b); y.dispose(); y = t; }
    if (x.dtype === 'f32') return y;
    const out = cast(y, x.dtype);
    y.dispose();
    return out;
  });
}

/**
 * RMSNorm as LLaMA (HF LlamaRMSNorm): x * rsqrt(mean(x^2, last axis) + eps) computed in f32, cast back to
 * x's dtype, then times weight (shape [D]). The result's dtype is x's (or f32 when weight is f32 and x not,
 * as PyTorch's promotion).
 */
export function rmsNorm(x: Tensor, weight?: Tensor | null, eps = 1e-6): Tensor {
  x.assertAlive('rmsNorm');
  if (!isFloat(x.dtype)) throw new TypeError(`rmsNorm: needs a floating tensor, got ${x.dtype}`);
  if (x.rank === 0) throw new ShapeError('rmsNorm: needs at least one axis');
  const D = x.shape[x.rank - 1];
  if (weight && (weight.rank !== 1 || weight.shape[0] !== D)) throw new ShapeError(`rmsNorm: weight [${weight.shape}] must be [${D}] for x [${x.shape}]`);
  return withTemps((tmp) => {
    const xf = f32Of(x, tmp);
    const ms = tmp(mean(tmp(mul(xf, xf)), -1, { keepDims: true }));
    const r = tmp(rsqrt(tmp(add(ms, eps))));
    let y = mul(xf, r);
    if (x.dtype !== 'f32') { const t = cast(y, x.dtype); y.dispose(); y = t; }
    if (!weight) return y;
    const out = mul(y, weight);
    y.dispose();
    return out;
  });
}
