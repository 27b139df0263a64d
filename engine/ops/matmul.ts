// Matrix multiply (batched, broadcast batch dims, 1-D operands as torch.matmul, transposes through
// strides), the fused GEMM (bias, activation, residual) and linear, with autograd. The forward is
// engine/ops/gemm.ts; backward: dA = dC·Bᵀ, dB = Aᵀ·dC (transposes are free views), summed over
// broadcast batch dims.
import { Tensor, numel } from '../tensor.js';
import type { DType } from '../dtype.js';
import { isFloat } from '../dtype.js';
import { record, noGrad, isGradEnabled } from '../autograd.js';
import type { Activation } from '../../kernels/gemm-epilogue.js';
import { broadcastShapes } from './launch.js';
import { transpose, reshape, unsqueeze, squeeze, castAndDispose } from './views.js';
import { sumToShape } from './reduce.js';
import { add, unary, promote } from './elementwise.js';
import { gemm } from './gemm.js';
import { ShapeError } from '../errors.js';

export type { Activation };

export interface MatmulOptions { transA?: boolean; transB?: boolean }

function checkOperands(a: Tensor, b: Tensor): DType {
  a.assertAlive('matmul'); b.assertAlive('matmul');
  if (!isFloat(a.dtype) || !isFloat(b.dtype)) throw new TypeError(`matmul: needs floating tensors, got ${a.dtype} and ${b.dtype}`);
  if (a.device !== b.device) throw new Error('matmul: tensors are on different devices');
  return promote(a.dtype, b.dtype);
}

/** [..., M, K] x [..., K, N] for operands of rank >= 2, with autograd. */
function matmul2(a: Tensor, b: Tensor): Tensor {
  const dt = checkOperands(a, b);
  const K = a.shape[a.rank - 1];
  if (b.shape[b.rank - 2] !== K) {
    throw new ShapeError(`matmul: inner dimensions differ: [${a.shape}] x [${b.shape}] (${K} vs ${b.shape[b.rank - 2]})`);
  }
  broadcastShapes('matmul (batch dims)', a.shape.slice(0, -2), b.shape.slice(0, -2));
  // 16-bit results are rounded and packed by the GEMM's epilogue itself (or cast after, for odd N).
  const out = noGrad(() => gemm(a, b, { outDtype: dt }));
  return record('matmul', out, [a, b], (g, [as, bs]) => operandGrads(g, as, bs, a.requiresGrad, b.requiresGrad), [a, b]);
}

/** dA = g·Bᵀ and dB = Aᵀ·g (each summed over A's / B's broadcast batch dims), where wanted. */
function operandGrads(g: Tensor, a: Tensor, b: Tensor, wantA: boolean, wantB: boolean): [Tensor | null, Tensor | null] {
  const product = (x: Tensor, y: Tensor, transposeX: boolean, shape: readonly number[]) => {
    const t = transpose(transposeX ? x : y);
    const full = transposeX ? matmul2(t, y) : matmul2(x, t);
    t.dispose();
    const r = sumToShape(full, shape);
    full.dispose();
    return r;
  };
  return [wantA ? product(g, b, false, a.shape) : null, wantB ? product(a, g, true, b.shape) : null];
}

/**
 * torch.matmul: 1-D operands are promoted to a matrix (a: [1, K], b: [K, 1]) and the added axis removed
 * from the result; batch dims broadcast. transA / transB transpose the last two axes of a 2-D+ operand
 * without copying.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  checkOperands(a, b);
  if (a.rank === 0 || b.rank === 0) throw new ShapeError(`matmul: operands must have at least one axis, got [${a.shape}] and [${b.shape}]`);
  const owned: Tensor[] = [];
  const keep = (t: Tensor) => { owned.push(t); return t; };
  try {
    let x = a, y = b;
    if (opts.transA) {
      if (x.rank < 2) throw new ShapeError(`matmul: transA needs a matrix, got [${a.shape}]`);
      x = keep(transpose(x));
    }
    if (opts.transB) {
      if (y.rank < 2) throw new ShapeError(`matmul: transB needs a matrix, got [${b.shape}]`);
      y = keep(transpose(y));
    }
    const vecA = x.rank === 1, vecB = y.rank === 1;
    if (vecA) x = keep(unsqueeze(x, 0));
    if (vecB) y = keep(unsqueeze(y, 1));
    let out = matmul2(x, y);
    if (vecB) { const s = squeeze(out, -1); out.dispose(); out = s; }
    if (vecA) { const s = squeeze(out, vecB ? -1 : -2); out.dispose(); out = s; }
    return out;
  } finally {
    for (const t of owned) t.dispose();
  }
}

export interface FusedOptions {
  bias?: Tensor | null;
  activation?: Activation;
  residual?: Tensor | null;
  /** Output dtype (default: the promoted dtype of the operands, bias and residual). */
  outDtype?: DType;
}

/**
 * act(a·b + bias) + residual in one GEMM dispatch, for operands of rank >= 2 ([..., M, K] x [..., K, N],
 * batch dims broadcast, any strides), bias [N], residual broadcastable to [..., M, N]. 16-bit outputs
 * are written directly by the kernel where it owns whole words (N even).
 * Autograd: without an activation the backward is fused-free and exact (dA = g·Bᵀ, dB = Aᵀ·g, dbias =
 * Σ g, dresidual = g); with an activation and a gradient needed, it runs unfused (matmul, add, unary)
 * so the activation's own backward applies.
 */
export function matmulFused(a: Tensor, b: Tensor, opts: FusedOptions = {}): Tensor {
  let dt = checkOperands(a, b);
  const bias = opts.bias ?? null, res = opts.residual ?? null, act = opts.activation ?? 'none';
  if (a.rank < 2 || b.rank < 2) throw new ShapeError(`matmulFused: operands must be matrices, got [${a.shape}] and [${b.shape}]`);
  const K = a.shape[a.rank - 1], N = b.shape[b.rank - 1];
  if (b.shape[b.rank - 2] !== K) throw new ShapeError(`matmulFused: inner dimensions differ: [${a.shape}] x [${b.shape}] (${K} vs ${b.shape[b.rank - 2]})`);
  broadcastShapes('matmulFused (batch dims)', a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (bias) {
    bias.assertAlive('matmulFused');
    if (bias.rank !== 1 || bias.shape[0] !== N) throw new ShapeError(`matmulFused: bias must be [${N}], got [${bias.shape}]`);
    dt = promote(dt, bias.dtype);
  }
  if (res) { res.assertAlive('matmulFused'); dt = promote(dt, res.dtype); }
  const outDtype = opts.outDtype ?? dt;
  const needGrad = isGradEnabled() && [a, b, bias, res].some((t) => t?.requiresGrad);
  if (needGrad && act !== 'none') {
    // Unfused, so that each op records its own backward.
    let y = matmul2(a, b);
    if (bias) { const t = add(y, bias); y.dispose(); y = t; }
    { const t = unary(act, y); y.dispose(); y = t; }
    if (res) { const t = add(y, res); y.dispose(); y = t; }
    return castAndDispose(y, outDtype);
  }
  const out = noGrad(() => gemm(a, b, { bias, activation: act, residual: res, outDtype }));
  if (!needGrad) return out;
  const inputs = [a, b, ...(bias ? [bias] : []), ...(res ? [res] : [])];
  return record('matmulFused', out, inputs, (g, saved) => {
    const [as, bs] = saved;
    const grads: (Tensor | null)[] = inputs.map(() => null);
    const [ga, gb] = operandGrads(g, as, bs, a.requiresGrad, b.requiresGrad);
    grads[0] = ga && castAndDispose(ga, a.dtype);
    grads[1] = gb && castAndDispose(gb, b.dtype);
    let i = 2;
    if (bias) { if (bias.requiresGrad) grads[i] = castAndDispose(sumToShape(g, bias.shape), bias.dtype); i++; }
    if (res && res.requiresGrad) grads[i] = castAndDispose(sumToShape(g, res.shape), res.dtype);
    return grads;
  }, [a, b]);
}

/** x·wᵀ + bias with PyTorch's weight layout: x [..., in], w [out, in], bias [out]. One fused GEMM. */
export function linear(x: Tensor, w: Tensor, bias?: Tensor | null): Tensor {
  x.assertAlive('linear'); w.assertAlive('linear');
  if (w.rank !== 2) throw new ShapeError(`linear: weight must be [out, in], got [${w.shape}]`);
  const [O, I] = w.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== I) throw new ShapeError(`linear: input [${x.shape}] does not end in ${I} (weight [${w.shape}])`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== O)) throw new ShapeError(`linear: bias must be [${O}], got [${bias.shape}]`);
  // Flatten the leading dims so the weight gradient is one GEMM, not a batch of them summed afterwards.
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? x : reshape(x, [numel(lead), I]);
  const wt = transpose(w);
  const y2 = matmulFused(x2, wt, { bias: bias ?? null });
  wt.dispose();
  if (x2 !== x) x2.dispose();
  if (x.rank === 2) return y2;
  const y = reshape(y2, [...lead, O]);
  y2.dispose();
  return y;
}
