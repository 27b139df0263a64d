// Matrix multiply (batched, broadcast batch dims, 1-D operands as torch.matmul, transposes through
// strides) and linear. Forward: one kernel writing f32, cast back for 16-bit inputs. Backward:
// dA = dC·Bᵀ, dB = Aᵀ·dC (transposes are free views), summed over broadcast batch dims.
import { Tensor, numel } from '../tensor.js';
import type { DType } from '../dtype.js';
import { isFloat } from '../dtype.js';
import type { Device } from '../device.js';
import { record, noGrad } from '../autograd.js';
import { matmulKernel, TILE, NAIVE_WORKGROUP, MATMUL_PARAMS_FIXED, type MatmulVariant } from '../../kernels/matmul.js';
import { grid, type KernelSource } from '../../kernels/kernel.js';
import { broadcastShapes } from './launch.js';
import { cast, transpose, reshape, unsqueeze, squeeze } from './views.js';
import { sumToShape } from './reduce.js';
import { add } from './elementwise.js';
import { promote } from './elementwise.js';
import { ShapeError } from '../errors.js';

export interface MatmulOptions { transA?: boolean; transB?: boolean }

export interface MatmulPlan { variant: MatmulVariant; workgroups: number }

/**
 * The one place that picks the GEMM kernel for a problem. Today: the tiled kernel everywhere, unless
 * ULLAVA_MATMUL=naive (benchmarks) or the caller forces a variant. A faster path (subgroup matrices,
 * split-K, larger tiles) slots in here, decided from the shapes and device features.
 */
export function planMatmul(_device: Device, M: number, N: number, _K: number, batch: number, force?: MatmulVariant): MatmulPlan {
  const variant = force ?? (process.env.ULLAVA_MATMUL === 'naive' ? 'naive' : 'tiled');
  if (variant === 'naive') return { variant, workgroups: Math.ceil((batch * M * N) / NAIVE_WORKGROUP) };
  return { variant, workgroups: batch * Math.ceil(M / TILE.BM) * Math.ceil(N / TILE.BN) };
}

const cache = new Map<string, KernelSource>();

/** Strides of `t`'s leading (batch) dims, right-aligned to `batch` (0 where broadcast). */
function batchStrides(t: Tensor, batch: readonly number[]): number[] {
  const r = t.rank - 2, R = batch.length;
  const s = new Array<number>(R).fill(0);
  for (let i = 0; i < r; i++) {
    const d = t.shape[r - 1 - i];
    if (d !== 1) s[R - 1 - i] = t.strides[r - 1 - i];
  }
  return s;
}

/**
 * The raw forward on operands of rank >= 2 ([..., M, K] x [..., K, N], any strides): a new contiguous
 * tensor [...batch, M, N] of dtype f32, no autograd. Exposed for benchmarks and fused callers.
 */
export function matmulF32(a: Tensor, b: Tensor, force?: MatmulVariant): Tensor {
  const M = a.shape[a.rank - 2], K = a.shape[a.rank - 1], N = b.shape[b.rank - 1];
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const device = a.device;
  const out = Tensor.empty([...batch, M, N], 'f32', device);
  const nBatch = numel(batch);
  if (nBatch * M * N === 0) return out;
  const R = Math.max(1, batch.length);
  const bShape = batch.length ? batch : [1];
  const sa = batch.length ? batchStrides(a, batch) : [0];
  const sb = batch.length ? batchStrides(b, batch) : [0];
  const plan = planMatmul(device, M, N, K, nBatch, force);
  const key = `${plan.variant}|${a.dtype}|${b.dtype}|${R}`;
  let kernel = cache.get(key);
  if (!kernel) {
    kernel = matmulKernel({ variant: plan.variant, batchRank: R, aDtype: a.dtype, bDtype: b.dtype });
    cache.set(key, kernel);
  }
  const params = [M, N, K, Math.ceil(N / TILE.BN), Math.ceil(M / TILE.BM), nBatch, a.offset, b.offset,
    a.strides[a.rank - 2], a.strides[a.rank - 1], b.strides[b.rank - 2], b.strides[b.rank - 1], ...bShape, ...sa, ...sb];
  if (params.length !== MATMUL_PARAMS_FIXED + 3 * R) throw new Error('matmul: parameter layout mismatch');
  device.dispatch(kernel, Uint32Array.from(params),
    [{ buffer: a.storage.buffer }, { buffer: b.storage.buffer }, { buffer: out.storage.buffer }], grid(plan.workgroups));
  return out;
}

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
  const out = noGrad(() => {
    const c = matmulF32(a, b);
    if (dt === 'f32') return c;
    const r = cast(c, dt);
    c.dispose();
    return r;
  });
  return record('matmul', out, [a, b], (g, [as, bs]) => {
    const grads: (Tensor | null)[] = [null, null];
    if (a.requiresGrad) {
      const bt = transpose(bs);
      const full = matmul2(g, bt);
      grads[0] = sumToShape(full, as.shape);
      bt.dispose(); full.dispose();
    }
    if (b.requiresGrad) {
      const at = transpose(as);
      const full = matmul2(at, g);
      grads[1] = sumToShape(full, bs.shape);
      at.dispose(); full.dispose();
    }
    return grads;
  }, [a, b]);
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

/** x·wᵀ + bias with PyTorch's weight layout: x [..., in], w [out, in], bias [out]. */
export function linear(x: Tensor, w: Tensor, bias?: Tensor | null): Tensor {
  x.assertAlive('linear'); w.assertAlive('linear');
  if (w.rank !== 2) throw new ShapeError(`linear: weight must be [out, in], got [${w.shape}]`);
  const [O, I] = w.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== I) throw new ShapeError(`linear: input [${x.shape}] does not end in ${I} (weight [${w.shape}])`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== O)) throw new ShapeError(`linear: bias must be [${O}], got [${bias.shape}]`);
  // Flatten the leading dims so the weight gradient is one GEMM, not a batch of them summed afterwards.
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? x : reshape(x, [numel(lead), I]);
  const y2 = matmul(x2, w, { transB: true });
  if (x2 !== x) x2.dispose();
  let y = y2;
  if (x.rank !== 2) { y = reshape(y2, [...lead, O]); y2.dispose(); }
  if (!bias) return y;
  const r = add(y, bias);
  y.dispose();
  return r;
}
