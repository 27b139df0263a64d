// The one place that picks the GEMM kernel for a problem (planMatmul), from the shapes, the operands'
// layout and dtypes, and the adapter's traits; and the launch size of each variant.
import type { DType } from '../dtype.js';
import type { Device } from '../device.js';
import { TILE, NAIVE_WORKGROUP, type MatmulVariant } from '../../kernels/matmul.js';
import { PACKED_TILE } from '../../kernels/gemm-cpu.js';
import { GEMV_WORKGROUP, GEMV_NO, GEMV_MAX_M } from '../../kernels/gemm-gemv.js';
import { sgmatTile, type SgmatConfig } from '../../kernels/gemm-sgmat.js';
import { NO_EPILOGUE } from '../../kernels/gemm-epilogue.js';

export type { MatmulVariant };

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
      if (packedBytes(M, N, K, batch) > device.maxBindingBytes) return 'packed operands exceed the binding limit';
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
 *    no such adapter was available; see kernels/gemm-sgmat.ts). bf16 operands would need a conversion
 *    pass to f16 first (range: bf16 values beyond 65504 overflow f16), which is not done: they take 'tiled';
 *  - CPU-like adapters (llvmpipe, SwiftShader): 'packed' (pack both operands, register-tiled subgroup kernel),
 *    whatever the size: one GEMM kernel to compile;
 *  - otherwise 'tiled' (workgroup-memory tiles, the shape for real GPUs).
 * WEBGPU_ENGINE_MATMUL=<variant> (benchmarks) or `force` override the choice; a forced variant that cannot run
 * the problem throws.
 */
export function planMatmul(device: Device, M: number, N: number, K: number, batch: number, force?: MatmulVariant, ops?: PlanOperands): MatmulPlan {
  const env = process.env.WEBGPU_ENGINE_MATMUL as MatmulVariant | undefined;
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
  // Small GEMMs too: a tiled kernel beside the packed one would cost a compile of tens of seconds on a
  // CPU driver to save microseconds of packing.
  else if (t.cpuLike && !unsuitable('packed', device, M, N, K, batch, ops)) variant = 'packed';
  else variant = 'tiled';
  const plan: MatmulPlan = { variant, workgroups: 0 };
  if (variant === 'sgmat') {
    plan.sgmat = { shape: t.sgmat[0], SM: SGMAT_SM, SN: SGMAT_SN, subgroupSize: t.sgMax, bKContig: !!ops && ops.sBn !== 1 };
  }
  const even = (x: number) => x % 2 === 0;
  if (variant === 'gemv_k' && ops) {
    plan.aPairs = ops.aDtype !== 'f32' && even(ops.offA) && (M === 1 || even(ops.sAm));
    plan.bPairs = ops.bDtype !== 'f32' && even(ops.offB) && (N === 1 || even(ops.sBn));
  }
  if (variant === 'gemv_n' && ops) {
    plan.bPairs = ops.bDtype !== 'f32' && ops.sBn === 1 && even(ops.offB) && (K === 1 || even(ops.sBk));
  }
  plan.workgroups = workgroupsFor(variant, M, N, batch, device, plan.sgmat);
  return plan;
}
