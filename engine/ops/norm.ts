// Layer normalisation and RMS normalisation over the trailing axes, computed in f32 whatever the storage
// dtype. layerNorm / rmsNorm run the fused single-pass kernels of kernels/norm.ts (forward and backward);
// layerNormComposed / rmsNormComposed are the same math as compositions of recorded ops, kept as the
// reference the fused kernels are tested and benchmarked against.
import { Tensor } from '../tensor.js';
import { withTemps } from '../scope.js';
import { isFloat } from '../dtype.js';
import { cast, castAndDispose, reshape, slice } from './views.js';
import { mean } from './reduce.js';
import { add, sub, mul, rsqrt } from './elementwise.js';
import { ShapeError } from '../errors.js';
import { record, noGrad } from '../autograd.js';
import { contiguous } from './views.js';
import { promote } from './elementwise.js';
import { numel } from '../tensor.js';
import { normForwardKernel, normBackwardDxKernel, normBackwardDwKernel, NORM_DW_WORKGROUP, type NormKind } from '../../kernels/norm.js';
import { grid } from '../../kernels/kernel.js';
import { kernelFor } from '../kernel-cache.js';
import { f32Bits } from './launch.js';

/** Validates layerNorm's arguments (before anything is encoded); returns the normalized shape. */
function checkLayerNorm(x: Tensor, normalizedShape: readonly number[] | number | null | undefined, weight?: Tensor | null, bias?: Tensor | null): number[] {
  x.assertAlive('layerNorm');
  if (!isFloat(x.dtype)) throw new TypeError(`layerNorm: needs a floating tensor, got ${x.dtype}`);
  const ns = normalizedShape === undefined || normalizedShape === null ? [x.shape[x.rank - 1]] : typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const k = ns.length;
  if (k === 0 || k > x.rank || ns.some((d, i) => d !== x.shape[x.rank - k + i])) {
    throw new ShapeError(`layerNorm: normalized shape [${ns}] is not the trailing shape of x [${x.shape}]`);
  }
  for (const [name, p] of [['weight', weight], ['bias', bias]] as const) {
    if (p && p.shape.join() !== ns.join()) throw new ShapeError(`layerNorm: ${name} [${p.shape}] must have the normalized shape [${ns}]`);
    if (p && !isFloat(p.dtype)) throw new TypeError(`layerNorm: ${name} must be floating, got ${p.dtype}`);
  }
  return ns;
}

/** Validates rmsNorm's arguments; returns the normalized size D. */
function checkRmsNorm(x: Tensor, weight?: Tensor | null): number {
  x.assertAlive('rmsNorm');
  if (!isFloat(x.dtype)) throw new TypeError(`rmsNorm: needs a floating tensor, got ${x.dtype}`);
  if (x.rank === 0) throw new ShapeError('rmsNorm: needs at least one axis');
  const D = x.shape[x.rank - 1];
  if (weight && (weight.rank !== 1 || weight.shape[0] !== D)) throw new ShapeError(`rmsNorm: weight [${weight.shape}] must be [${D}] for x [${x.shape}]`);
  if (weight && !isFloat(weight.dtype)) throw new TypeError(`rmsNorm: weight must be floating, got ${weight.dtype}`);
  return D;
}

/** x in f32: x itself (keeping its autograd history) or a recorded cast, registered as a temporary. */
function f32Of(x: Tensor, tmp: (t: Tensor) => Tensor): Tensor { return x.dtype === 'f32' ? x : tmp(cast(x, 'f32')); }

/**
 * torch.nn.functional.layer_norm: (x - mean) / sqrt(var + eps) * weight + bias over the trailing axes
 * given by `normalizedShape` (default: the last axis), biased variance. weight and bias have the shape
 * `normalizedShape`. The result has x's dtype.
 * Called as layerNorm(x, null, weight, bias, eps) for the default (last axis) normalized shape.
 */
export function layerNormComposed(x: Tensor, normalizedShape?: readonly number[] | number | null, weight?: Tensor | null,
  bias?: Tensor | null, eps = 1e-5): Tensor {
  const ns = checkLayerNorm(x, normalizedShape, weight, bias);
  const k = ns.length;
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
    return castAndDispose(y, x.dtype);
  });
}

/**
 * RMSNorm as LLaMA (HF LlamaRMSNorm): x * rsqrt(mean(x^2, last axis) + eps) computed in f32, cast back to
 * x's dtype, then times weight (shape [D]). The result's dtype is x's (or f32 when weight is f32 and x not,
 * as PyTorch's promotion).
 */
export function rmsNormComposed(x: Tensor, weight?: Tensor | null, eps = 1e-6): Tensor {
  checkRmsNorm(x, weight);
  return withTemps((tmp) => {
    const xf = f32Of(x, tmp);
    const ms = tmp(mean(tmp(mul(xf, xf)), -1, { keepDims: true }));
    const r = tmp(rsqrt(tmp(add(ms, eps))));
    let y = mul(xf, r);
    y = castAndDispose(y, x.dtype);
    if (!weight) return y;
    const out = mul(y, weight);
    y.dispose();
    return out;
  });
}

/**
 * The fused kernels on x seen as [rows, D] (D = product of the normalised axes). Returns the output in
 * `outDtype` with autograd for x, weight and bias.
 */
function fusedNorm(kind: NormKind, x: Tensor, D: number, weight: Tensor | null, bias: Tensor | null, eps: number, outDtype: Tensor['dtype']): Tensor {
  const device = x.device;
  const rows = D === 0 ? 0 : numel(x.shape) / D;
  const wdt = weight?.dtype ?? bias?.dtype ?? 'f32';
  const [xc, wc, bc] = noGrad(() => [contiguous(x), weight ? contiguous(weight) : null, bias ? contiguous(bias) : null]);
  const y32 = Tensor.empty(x.shape, 'f32', device);
  const stats = Tensor.empty([rows, 2], 'f32', device);
  if (rows > 0 && D > 0) {
    const k = kernelFor(normForwardKernel, kind, xc.dtype, wdt);
    const dummy = { buffer: xc.storage.buffer };
    device.dispatch(k, Uint32Array.from([rows, D, f32Bits(eps), wc ? 1 : 0, bc ? 1 : 0]),
      [{ buffer: xc.storage.buffer }, wc ? { buffer: wc.storage.buffer } : dummy, bc ? { buffer: bc.storage.buffer } : dummy,
        { buffer: y32.storage.buffer }, { buffer: stats.storage.buffer }], grid(rows));
  }
  const out = noGrad(() => castAndDispose(y32, outDtype));
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const result = record(`${kind}Norm`, out, inputs, (g, [xs, st, ws]) => {
    const gc = contiguous(g);
    const grads: (Tensor | null)[] = [];
    if (x.requiresGrad) {
      const dx = Tensor.empty(xs.shape, 'f32', device);
      if (rows > 0 && D > 0) {
        const k = kernelFor(normBackwardDxKernel, kind, xs.dtype, gc.dtype, wdt);
        device.dispatch(k, Uint32Array.from([rows, D, 0, ws ? 1 : 0]), [{ buffer: xs.storage.buffer }, { buffer: gc.storage.buffer },
          { buffer: (ws ?? xs).storage.buffer }, { buffer: st.storage.buffer }, { buffer: dx.storage.buffer }], grid(rows));
      }
      grads.push(castAndDispose(dx, x.dtype));
    } else grads.push(null);
    if ((weight && weight.requiresGrad) || (bias && bias.requiresGrad)) {
      const dwb = Tensor.empty([2, D], 'f32', device);
      if (D > 0) {
        const k = kernelFor(normBackwardDwKernel, kind, xs.dtype, gc.dtype);
        device.dispatch(k, Uint32Array.from([rows, D]), [{ buffer: xs.storage.buffer }, { buffer: gc.storage.buffer },
          { buffer: st.storage.buffer }, { buffer: dwb.storage.buffer }], grid(Math.ceil(D / NORM_DW_WORKGROUP)));
      }
      const row = (i: number, p: Tensor) => { const s = slice(dwb, 0, i, i + 1); const r = reshape(s, p.shape); s.dispose(); return castAndDispose(r, p.dtype); };
      if (weight) grads.push(weight.requiresGrad ? row(0, weight) : null);
      if (bias) grads.push(bias.requiresGrad ? row(1, bias) : null);
      dwb.dispose();
    } else {
      if (weight) grads.push(null);
      if (bias) grads.push(null);
    }
    gc.dispose();
    return grads;
  }, [xc, stats, ...(wc ? [wc] : [])]);
  noGrad(() => { xc.dispose(); stats.dispose(); wc?.dispose(); bc?.dispose(); });
  return result;
}

/**
 * torch.nn.functional.layer_norm over the trailing axes given by `normalizedShape` (default: the last
 * axis), biased variance; weight and bias have the normalized shape; the result has x's dtype.
 * Called as layerNorm(x, null, weight, bias, eps) for the default normalized shape.
 */
export function layerNorm(x: Tensor, normalizedShape?: readonly number[] | number | null, weight?: Tensor | null,
  bias?: Tensor | null, eps = 1e-5): Tensor {
  const ns = checkLayerNorm(x, normalizedShape, weight, bias);
  if (weight && bias && weight.dtype !== bias.dtype) {
    // The kernel reads weight and bias with one dtype; mixed ones take the composed path.
    return layerNormComposed(x, ns, weight, bias, eps);
  }
  return fusedNorm('layer', x, numel(ns), weight ?? null, bias ?? null, eps, x.dtype);
}

/**
 * RMSNorm as LLaMA (HF LlamaRMSNorm): x * rsqrt(mean(x^2, last axis) + eps) computed in f32, cast back to
 * x's dtype, then times weight [D]. The result's dtype is x's (or the promotion with weight's, as PyTorch).
 */
export function rmsNorm(x: Tensor, weight?: Tensor | null, eps = 1e-6): Tensor {
  const D = checkRmsNorm(x, weight);
  return fusedNorm('rms', x, D, weight ?? null, null, eps, weight ? promote(x.dtype, weight.dtype) : x.dtype);
}
