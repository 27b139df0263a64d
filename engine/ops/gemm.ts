// The raw GEMM forward on tensors: act(A·B + bias) + residual for operands of rank >= 2 with any
// strides and broadcast batch dims, on the kernel planMatmul picks, with the parameter block every GEMM
// kernel shares. No autograd (engine/ops/matmul.ts records it).
import { Tensor, numel } from '../tensor.js';
import type { DType } from '../dtype.js';
import { isFloat } from '../dtype.js';
import { matmulKernel, TILE, MATMUL_PARAMS_FIXED } from '../../kernels/matmul.js';
import { PACKED_TILE } from '../../kernels/gemm-cpu.js';
import { gemvKernel, GEMV_NO } from '../../kernels/gemm-gemv.js';
import { sgmatKernel, sgmatTile, type SgmatConfig } from '../../kernels/gemm-sgmat.js';
import { NO_BIAS_OFFSET, type Activation, type Epilogue } from '../../kernels/gemm-epilogue.js';
import { grid, type KernelSource } from '../../kernels/kernel.js';
import { kernelFor } from '../kernel-cache.js';
import { broadcastShapes } from './launch.js';
import { contiguous, expand, castAndDispose } from './views.js';
import { planMatmul, type MatmulVariant, type PlanOperands } from './matmul-plan.js';
import { packOperand, packedGemm, packedTiles, MIN_BATCH_RANK } from './gemm-packed.js';
import { ShapeError } from '../errors.js';

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

/** Extra operands of the fused epilogue. */
export interface GemmExtras { bias?: Tensor | null; activation?: Activation; residual?: Tensor | null; outDtype?: DType }

/**
 * The raw forward on operands of rank >= 2 ([..., M, K] x [..., K, N], any strides): a new contiguous
 * tensor [...batch, M, N] = act(A·B + bias) + residual, of dtype outDtype (default f32), no autograd.
 * Exposed for benchmarks and fused callers.
 */
export function gemm(a: Tensor, b: Tensor, extras: GemmExtras = {}, force?: MatmulVariant): Tensor {
  const M = a.shape[a.rank - 2], K = a.shape[a.rank - 1], N = b.shape[b.rank - 1];
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const device = a.device;
  const outShape = [...batch, M, N];
  const outDtype = extras.outDtype ?? 'f32';
  const nBatch = numel(batch);
  const ops: PlanOperands = { aDtype: a.dtype, bDtype: b.dtype, sAm: a.strides[a.rank - 2], sAk: a.strides[a.rank - 1],
    sBk: b.strides[b.rank - 2], sBn: b.strides[b.rank - 1], offA: a.offset, offB: b.offset };
  const plan = planMatmul(device, M, N, K, nBatch, force, ops);
  // 16-bit outputs are written directly where the kernel owns whole words (N even); else f32, then cast.
  const direct = outDtype === 'f32' || (plan.variant !== 'naive' && N % 2 === 0 && (outDtype === 'f16' || outDtype === 'bf16'));
  const owned: Tensor[] = [];
  try {
    let bias = extras.bias ?? null, res = extras.residual ?? null;
    if (bias && (bias.rank !== 1 || bias.shape[0] !== N)) throw new ShapeError(`matmul: bias must be [${N}], got [${bias.shape}]`);
    if (bias && bias.strides[0] !== 1) { bias = contiguous(bias); owned.push(bias); }
    if (res) {
      if (res.shape.length !== outShape.length || res.shape.some((d, i) => d !== outShape[i])) {
        const e = expand(res, outShape); owned.push(e); res = e;
      }
      if (!res.isContiguous()) { res = contiguous(res); owned.push(res); }
    }
    // Without a bias, the bias kernel runs with NO_BIAS_OFFSET and `a` bound as the unused bias: calls
    // with and without bias share one pipeline (each compile costs seconds on a software driver).
    const epi: Epilogue = { bias: bias?.dtype ?? (isFloat(b.dtype) ? b.dtype : 'f32'), activation: extras.activation ?? 'none',
      residual: res?.dtype, out: direct ? outDtype as Epilogue['out'] : 'f32' };
    const out = Tensor.empty(outShape, epi.out, device);
    if (nBatch * M * N === 0) return castAndDispose(out, outDtype);
    // Batch dims padded with leading 1s to at least MIN_BATCH_RANK: one kernel for plain and batched GEMMs.
    const R = Math.max(MIN_BATCH_RANK, batch.length);
    const pad = (xs: readonly number[], v: number) => [...Array<number>(R - batch.length).fill(v), ...xs];
    const bShape = pad(batch, 1);
    const sa = pad(batch.length ? batchStrides(a, batch) : [], 0);
    const sb = pad(batch.length ? batchStrides(b, batch) : [], 0);
    const extra = [{ buffer: (bias ?? a).storage.buffer }, ...(res ? [{ buffer: res.storage.buffer }] : [])];
    const epiParams = [bias ? bias.offset : NO_BIAS_OFFSET, res?.offset ?? 0];
    const std = [M, N, K, 0, 0, nBatch, a.offset, b.offset, ops.sAm, ops.sAk, ops.sBk, ops.sBn, ...epiParams, ...bShape, ...sa, ...sb];
    let kernel: KernelSource;
    if (plan.variant === 'packed') {
      runPacked(a, b, out, M, N, K, batch, bShape, sa, sb, epi, epiParams, extra);
      return castAndDispose(out, outDtype);
    } else if (plan.variant === 'gemv_k' || plan.variant === 'gemv_n') {
      std[3] = Math.ceil(N / GEMV_NO);
      kernel = kernelFor(gemvKernel, {
        variant: plan.variant as 'gemv_k' | 'gemv_n', M, batchRank: R, aDtype: a.dtype, bDtype: b.dtype,
        aPairs: !!plan.aPairs, bPairs: !!plan.bPairs, epi });
    } else if (plan.variant === 'sgmat') {
      const cfg: SgmatConfig = { ...plan.sgmat!, batchRank: R, epi };
      const { TM, TN } = sgmatTile(cfg);
      std[3] = Math.ceil(N / TN); std[4] = Math.ceil(M / TM);
      kernel = kernelFor(sgmatKernel, cfg);
    } else {
      std[3] = Math.ceil(N / TILE.BN); std[4] = Math.ceil(M / TILE.BM);
      kernel = kernelFor(matmulKernel, { variant: plan.variant as 'tiled' | 'naive', batchRank: R, aDtype: a.dtype, bDtype: b.dtype, epi });
    }
    if (std.length !== MATMUL_PARAMS_FIXED + 3 * R) throw new Error('matmul: parameter layout mismatch');
    device.dispatch(kernel, Uint32Array.from(std),
      [{ buffer: a.storage.buffer }, { buffer: b.storage.buffer }, { buffer: out.storage.buffer }, ...extra], grid(plan.workgroups));
    return castAndDispose(out, outDtype);
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** Packs both operands into f32 panels (kernels/gemm-cpu.ts) and runs the packed kernel. */
function runPacked(a: Tensor, b: Tensor, out: Tensor, M: number, N: number, K: number, batch: readonly number[],
  bShape: readonly number[], sa: number[], sb: number[], epi: Epilogue, epiParams: number[], extra: { buffer: GPUBuffer }[]): void {
  const nBatch = numel(batch);
  const { tilesM, tilesN } = packedTiles(M, N);
  const ap = packOperand(a, M, K, tilesM * PACKED_TILE.TMR, a.strides[a.rank - 2], a.strides[a.rank - 1], bShape, sa, nBatch);
  const bp = packOperand(b, N, K, tilesN * PACKED_TILE.TN, b.strides[b.rank - 1], b.strides[b.rank - 2], bShape, sb, nBatch);
  packedGemm(ap, bp, out, M, N, K, nBatch, epi, epiParams, extra);
  ap.dispose(); bp.dispose();
}

/** The raw forward with a plain f32 output (no epilogue), no autograd. Exposed for benchmarks. */
export function matmulF32(a: Tensor, b: Tensor, force?: MatmulVariant): Tensor {
  return gemm(a, b, {}, force);
}
