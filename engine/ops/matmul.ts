// Matrix multiply (batched, broadcast batch dims, 1-D operands as torch.matmul, transposes through
// strides) and linear. Forward: one kernel writing f32, cast back for 16-bit inputs. Backward:
// dA = dC·Bᵀ, dB = Aᵀ·dC (transposes are free views), summed over broadcast batch dims.
import { Tensor, numel } from '../tensor.js';
import type { DType } from '../dtype.js';
import { isFloat } from '../dtype.js';
import type { Device } from '../device.js';
import { record, noGrad } from '../autograd.js';
import { matmulKernel, TILE, NAIVE_WORKGROUP, MATMUL_PARAMS_FIXED, type MatmulVariant } from '../../kernels/matmul.js';
import { packKernel, packedKernel, PACKED_TILE, PACK_WORKGROUP, PACK_PARAMS_FIXED } from '../../kernels/gemm_cpu.js';
import { gemvKernel, GEMV_WORKGROUP, GEMV_NO, GEMV_MAX_M } from '../../kernels/gemm_gemv.js';
import { sgmatKernel, sgmatTile, type SgmatConfig } from '../../kernels/gemm_sgmat.js';
import { NO_EPILOGUE, type Activation, type Epilogue } from '../../kernels/gemm_epilogue.js';
import { grid, type KernelSource } from '../../kernels/kernel.js';
import { broadcastShapes } from './launch.js';
import { cast, transpose, reshape, unsqueeze, squeeze, contiguous, expand } from './views.js';
import { sumToShape } from './reduce.js';
import { add, unary } from './elementwise.js';
import { promote } from './elementwise.js';
import { ShapeError } from '../errors.js';
import { isGradEnabled } from '../autograd.js';

export type { MatmulVariant } from '../../kernels/matmul.js';
export type { Activation } from '../../kernels/gemm_epilogue.js';

export interface MatmulOptions { transA?: boolean; transB?: boolean }

/** What the planner knows about the operands besides the sizes (layout and dtypes). */
export interface PlanOperands {
  aDtype: DType; bDtype: DType;
  /** Element strides of the matrices: A [M, K] and B [K, N]. */
  sAm: number; sAk: number; sBk: number; sBn: number;
  offA: number; offB: number;
}

export interface MatmulPlan {
  variant: MatmulVariant;
  workgroups: number;
  /** 'sgmat' only: the kernel configuration. */
  sgmat?: Omit<SgmatConfig, 'batchRank' | 'epi'>;
  /** 'gemv_k' only: 16-bit operands read two per word. */
  aPairs?: boolean; bPairs?: boolean;
}

interface AdapterTraits {
  cpuLike: boolean; subgroups: boolean; sgMin: number; sgMax: number;
  f16: boolean; sgmat: { M: number; N: number; K: number }[];
}
const traitsCache = new WeakMap<Device, AdapterTraits>();

/** Adapter facts the planner uses, read once per device. */
function traits(device: Device): AdapterTraits {
  let t = traitsCache.get(device);
  if (t) return t;
  const d = device.describe();
  t = {
    // Software adapters run compute shaders on CPU threads.
    cpuLike: device.isSoftwareAdapter,
    subgroups: device.has('subgroups'), sgMin: d.subgroupMinSize ?? 0, sgMax: d.subgroupMaxSize ?? 0,
    f16: device.has('shader-f16'),
    sgmat: device.has('chromium-experimental-subgroup-matrix')
      ? d.subgroupMatrixConfigs.filter((c) => /f16/i.test(c.componentType) && /f32/i.test(c.resultComponentType)).map((c) => ({ M: c.M, N: c.N, K: c.K }))
      : [],
  };
  traitsCache.set(device, t);
  return t;
}

const SGMAT_SM = 2, SGMAT_SN = 2;

function packedBytes(M: number, N: number, K: number, batch: number): number {
  const TM = 8 * PACKED_TILE.TMR, TN = 8 * PACKED_TILE.TN, K4 = Math.ceil(K / 4);
  return 16 * K4 * batch * Math.max(Math.ceil(M / TM) * TM, Math.ceil(N / TN) * TN);
}

function workgroupsFor(variant: MatmulVariant, M: number, N: number, batch: number, device: Device, sg?: MatmulPlan['sgmat']): number {
  switch (variant) {
    case 'naive': return Math.ceil((batch * M * N) / NAIVE_WORKGROUP);
    case 'tiled': return batch * Math.ceil(M / TILE.BM) * Math.ceil(N / TILE.BN);
    case 'packed': return batch * Math.ceil(M / (8 * PACKED_TILE.TMR)) * Math.ceil(N / (8 * PACKED_TILE.TN));
    case 'gemv_k': {
      // One subgroup per GEMV_NO columns; sized for the smallest subgroup (surplus subgroups exit).
      const perWg = Math.max(1, GEMV_WORKGROUP / Math.max(1, traits(device).sgMin));
      return Math.ceil((batch * Math.ceil(N / GEMV_NO)) / perWg);
    }
    case 'gemv_n': return Math.ceil((batch * Math.ceil(N / GEMV_NO)) / GEMV_WORKGROUP);
    case 'sgmat': {
      const { TM, TN } = sgmatTile({ ...sg!, batchRank: 1, epi: NO_EPILOGUE });
      return batch * Math.ceil(M / TM) * Math.ceil(N / TN);
    }
  }
}

/** Why `variant` cannot run this problem here, or null if it can. */
function unsuitable(variant: MatmulVariant, device: Device, M: number, N: number, K: number, batch: number, ops?: PlanOperands): string | null {
  const t = traits(device);
  switch (variant) {
    case 'naive': case 'tiled': return null;
    case 'packed':
      if (!t.subgroups || t.sgMin < 8) return 'needs subgroups of at least 8 lanes';
      if (packedBytes(M, N, K, batch) > device.limits.maxStorageBufferBindingSize) return 'packed operands exceed the binding limit';
      return null;
    case 'gemv_k': case 'gemv_n':
      if (!t.subgroups) return 'needs subgroups';
      if (M > GEMV_MAX_M) return `M > ${GEMV_MAX_M}`;
      if (!ops) return null;
      if (variant === 'gemv_k' && (ops.sAk !== 1 || ops.sBk !== 1)) return 'needs A and B contiguous along K';
      if (variant === 'gemv_n' && ops.sBn !== 1) return 'needs B contiguous along N';
      return null;
    case 'sgmat': {
      if (!t.sgmat.length || !t.f16) return 'the adapter has no f16 subgroup-matrix configuration';
      if (t.sgMin !== t.sgMax || t.sgMin === 0) return 'needs a fixed subgroup size';
      if (ops && (ops.aDtype !== 'f16' || ops.bDtype !== 'f16')) return 'needs f16 operands';
      const c = t.sgmat[0];
      if (M % (SGMAT_SM * c.M) || N % (SGMAT_SN * c.N) || K % c.K) return 'sizes are not multiples of the tile';
      if (ops && (ops.sAk !== 1 || (ops.sBn !== 1 && ops.sBk !== 1))) return 'needs unit strides along K (A) and N or K (B)';
      return null;
    }
  }
}

/**
 * The one place that picks the GEMM kernel for a problem, from the shapes, the operands' layout and
 * dtypes, and the adapter:
 *  - decode shapes (M <= 16): 'gemv_k' when A and B are contiguous along K (linear's weight), else 'gemv_n'
 *    when B is contiguous along N;
 *  - GPUs with an f16 subgroup-matrix config, f16 operands and tile-multiple sizes: 'sgmat' (unverified:
 *    no such adapter was available; see kernels/gemm_sgmat.ts). bf16 operands would need a conversion
 *    pass to f16 first (range: bf16 values beyond 65504 overflow f16), which is not done: they take 'tiled';
 *  - CPU-like adapters (llvmpipe, SwiftShader): 'packed' (pack both operands, register-tiled subgroup kernel);
 *  - otherwise 'tiled' (workgroup-memory tiles, the shape for real GPUs).
 * ULLAVA_MATMUL=<variant> (benchmarks) or `force` override the choice; a forced variant that cannot run
 * the problem throws.
 */
export function planMatmul(device: Device, M: number, N: number, K: number, batch: number, force?: MatmulVariant, ops?: PlanOperands): MatmulPlan {
  const env = process.env.ULLAVA_MATMUL as MatmulVariant | undefined;
  const chosen = force ?? (env && env.length ? env : undefined);
  const t = traits(device);
  let variant: MatmulVariant;
  if (chosen) {
    const why = unsuitable(chosen, device, M, N, K, batch, ops);
    if (why) {
      if (force) throw new Error(`matmul: variant '${chosen}' cannot run ${M}x${N}x${K}: ${why}`);
      variant = 'tiled';
    } else variant = chosen;
  } else if (K === 0) variant = 'tiled';
  else if (M <= GEMV_MAX_M && N * K >= 4096 && !unsuitable('gemv_k', device, M, N, K, batch, ops)) variant = 'gemv_k';
  else if (M <= GEMV_MAX_M && N * K >= 4096 && !unsuitable('gemv_n', device, M, N, K, batch, ops)) variant = 'gemv_n';
  else if (!t.cpuLike && !unsuitable('sgmat', device, M, N, K, batch, ops)) variant = 'sgmat';
  else if (t.cpuLike && M * N * K >= 32 * 32 * 32 && !unsuitable('packed', device, M, N, K, batch, ops)) variant = 'packed';
  else variant = 'tiled';
  const plan: MatmulPlan = { variant, workgroups: 0 };
  if (variant === 'sgmat') {
    plan.sgmat = { shape: t.sgmat[0], SM: SGMAT_SM, SN: SGMAT_SN, subgroupSize: t.sgMax, bKContig: !!ops && ops.sBn !== 1 };
  }
  const even2 = (x: number) => x % 2 === 0;
  if (variant === 'gemv_k' && ops) {
    const even = (x: number) => x % 2 === 0;
    plan.aPairs = ops.aDtype !== 'f32' && even(ops.offA) && (M === 1 || even(ops.sAm));
    plan.bPairs = ops.bDtype !== 'f32' && even(ops.offB) && (N === 1 || even(ops.sBn));
  }
  if (variant === 'gemv_n' && ops) {
    plan.bPairs = ops.bDtype !== 'f32' && ops.sBn === 1 && even2(ops.offB) && (K === 1 || even2(ops.sBk));
  }
  plan.workgroups = workgroupsFor(variant, M, N, batch, device, plan.sgmat);
  return plan;
}

const cache = new Map<string, KernelSource>();
function cached(key: string, make: () => KernelSource): KernelSource {
  let k = cache.get(key);
  if (!k) { k = make(); cache.set(key, k); }
  return k;
}

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
    const epi: Epilogue = { bias: bias?.dtype, activation: extras.activation ?? 'none', residual: res?.dtype,
      out: direct ? outDtype as Epilogue['out'] : 'f32' };
    const out = Tensor.empty(outShape, epi.out, device);
    if (nBatch * M * N === 0) return direct ? out : finishCast(out, outDtype);
    const R = Math.max(1, batch.length);
    const bShape = batch.length ? batch : [1];
    const sa = batch.length ? batchStrides(a, batch) : [0];
    const sb = batch.length ? batchStrides(b, batch) : [0];
    const extra = [...(bias ? [{ buffer: bias.storage.buffer }] : []), ...(res ? [{ buffer: res.storage.buffer }] : [])];
    const epiParams = [bias?.offset ?? 0, res?.offset ?? 0];
    const std = [M, N, K, 0, 0, nBatch, a.offset, b.offset, ops.sAm, ops.sAk, ops.sBk, ops.sBn, ...epiParams, ...bShape, ...sa, ...sb];
    const ekey = `${epi.bias}|${epi.activation}|${epi.residual}|${epi.out}`;
    let kernel: KernelSource;
    if (plan.variant === 'packed') {
      runPacked(a, b, out, M, N, K, batch, bShape, sa, sb, epi, epiParams, extra);
      return direct ? out : finishCast(out, outDtype);
    } else if (plan.variant === 'gemv_k' || plan.variant === 'gemv_n') {
      std[3] = Math.ceil(N / GEMV_NO);
      kernel = cached(`${plan.variant}|${M}|${a.dtype}|${b.dtype}|${plan.aPairs}|${plan.bPairs}|${R}|${ekey}`, () => gemvKernel({
        variant: plan.variant as 'gemv_k' | 'gemv_n', M, batchRank: R, aDtype: a.dtype, bDtype: b.dtype,
        aPairs: !!plan.aPairs, bPairs: !!plan.bPairs, epi }));
    } else if (plan.variant === 'sgmat') {
      const cfg: SgmatConfig = { ...plan.sgmat!, batchRank: R, epi };
      const { TM, TN } = sgmatTile(cfg);
      std[3] = Math.ceil(N / TN); std[4] = Math.ceil(M / TM);
      kernel = cached(`sgmat|${JSON.stringify(plan.sgmat)}|${R}|${ekey}`, () => sgmatKernel(cfg));
    } else {
      std[3] = Math.ceil(N / TILE.BN); std[4] = Math.ceil(M / TILE.BM);
      kernel = cached(`${plan.variant}|${a.dtype}|${b.dtype}|${R}|${ekey}`, () =>
        matmulKernel({ variant: plan.variant as 'tiled' | 'naive', batchRank: R, aDtype: a.dtype, bDtype: b.dtype, epi }));
    }
    if (std.length !== MATMUL_PARAMS_FIXED + 3 * R) throw new Error('matmul: parameter layout mismatch');
    device.dispatch(kernel, Uint32Array.from(std),
      [{ buffer: a.storage.buffer }, { buffer: b.storage.buffer }, { buffer: out.storage.buffer }, ...extra], grid(plan.workgroups));
    return direct ? out : finishCast(out, outDtype);
  } finally {
    for (const t of owned) t.dispose();
  }
}

function finishCast(out: Tensor, dtype: DType): Tensor {
  const r = cast(out, dtype);
  out.dispose();
  return r;
}

/** Packs both operands into f32 panels (kernels/gemm_cpu.ts) and runs the packed kernel. */
function runPacked(a: Tensor, b: Tensor, out: Tensor, M: number, N: number, K: number, batch: readonly number[],
  bShape: readonly number[], sa: number[], sb: number[], epi: Epilogue, epiParams: number[], extra: { buffer: GPUBuffer }[]): void {
  const nBatch = numel(batch);
  const { tilesM, tilesN } = packedTiles(M, N);
  const ap = packOperand(a, M, K, tilesM * PACKED_TILE.TMR, a.strides[a.rank - 2], a.strides[a.rank - 1], bShape, sa, nBatch);
  const bp = packOperand(b, N, K, tilesN * PACKED_TILE.TN, b.strides[b.rank - 1], b.strides[b.rank - 2], bShape, sb, nBatch);
  packedGemm(ap, bp, out, M, N, K, nBatch, epi, epiParams, extra);
  ap.dispose(); bp.dispose();
}

/** Output tiles of the packed kernel; A panels hold tilesM·TMR 8-row blocks per batch, B panels tilesN·TN. */
export function packedTiles(M: number, N: number): { tilesM: number; tilesN: number } {
  return { tilesM: Math.ceil(M / (8 * PACKED_TILE.TMR)), tilesN: Math.ceil(N / (8 * PACKED_TILE.TN)) };
}

/**
 * Packs `rows` x K matrices of `x` (element (r, k) at offset + r·sRow + k·sK, batch dims `bShape` with
 * strides `bstr`, 0 = broadcast) into f32 panels of 8 rows for the packed kernel. For implicit-GEMM callers.
 */
export function packOperand(x: Tensor, rows: number, K: number, blocks: number, sRow: number, sK: number,
  bShape: readonly number[], bstr: readonly number[], nBatch: number): Tensor {
  const device = x.device;
  const R = bShape.length, K4 = Math.ceil(K / 4);
  const p = Tensor.empty([nBatch * blocks * K4 * 8 * 4], 'f32', device);
  const kernel = cached(`pack|${x.dtype}|${R}`, () => packKernel(x.dtype, R));
  const params = [rows, K, K4, blocks, nBatch, x.offset, sRow, sK, ...bShape, ...bstr];
  if (params.length !== PACK_PARAMS_FIXED + 2 * R) throw new Error('matmul: pack parameter layout mismatch');
  device.dispatch(kernel, Uint32Array.from(params), [{ buffer: x.storage.buffer }, { buffer: p.storage.buffer }],
    grid(Math.ceil((nBatch * blocks * K4 * 8) / PACK_WORKGROUP)));
  return p;
}

/** The packed kernel on panels made by packOperand (or an equivalent packer): out [nBatch, M, N] contiguous. */
export function packedGemm(ap: Tensor, bp: Tensor, out: Tensor, M: number, N: number, K: number, nBatch: number,
  epi: Epilogue, epiParams: number[], extra: { buffer: GPUBuffer }[]): void {
  const { tilesM, tilesN } = packedTiles(M, N);
  const kernel = cached(`packed|${epi.bias}|${epi.activation}|${epi.residual}|${epi.out}`, () => packedKernel(epi));
  const params = [M, N, Math.ceil(K / 4), tilesN, tilesM, nBatch, 0, 0, 0, 0, 0, 0, ...epiParams];
  out.device.dispatch(kernel, Uint32Array.from(params),
    [{ buffer: ap.storage.buffer }, { buffer: bp.storage.buffer }, { buffer: out.storage.buffer }, ...extra], grid(nBatch * tilesM * tilesN));
}

/** Kernel cache shared with implicit-GEMM callers (one compiled pipeline per generated source). */
export function cachedKernel(key: string, make: () => KernelSource): KernelSource { return cached(key, make); }

/**
 * The raw forward with a plain f32 output (no epilogue), no autograd. Exposed for benchmarks.
 */
export function matmulF32(a: Tensor, b: Tensor, force?: MatmulVariant): Tensor {
  return gemm(a, b, {}, force);
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
  // 16-bit results are rounded and packed by the GEMM's epilogue itself (or cast after, for odd N).
  const out = noGrad(() => gemm(a, b, { outDtype: dt }));
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
    if (y.dtype !== outDtype) { const t = cast(y, outDtype); y.dispose(); y = t; }
    return y;
  }
  const out = noGrad(() => gemm(a, b, { bias, activation: act, residual: res, outDtype }));
  if (!needGrad) return out;
  const inputs = [a, b, ...(bias ? [bias] : []), ...(res ? [res] : [])];
  return record('matmulFused', out, inputs, (g, saved) => {
    const [as, bs] = saved;
    const grads: (Tensor | null)[] = inputs.map(() => null);
    const toDtype = (t: Tensor, d: DType) => { if (t.dtype === d) return t; const r = cast(t, d); t.dispose(); return r; };
    if (a.requiresGrad) {
      const bt = transpose(bs);
      const full = matmul2(g, bt);
      grads[0] = toDtype(sumToShape(full, as.shape), a.dtype);
      bt.dispose(); full.dispose();
    }
    if (b.requiresGrad) {
      const at = transpose(as);
      const full = matmul2(at, g);
      grads[1] = toDtype(sumToShape(full, bs.shape), b.dtype);
      at.dispose(); full.dispose();
    }
    let i = 2;
    if (bias) { if (bias.requiresGrad) grads[i] = toDtype(sumToShape(g, bias.shape), bias.dtype); i++; }
    if (res && res.requiresGrad) grads[i] = toDtype(sumToShape(g, res.shape), res.dtype);
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
