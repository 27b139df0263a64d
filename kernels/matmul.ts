// Batched matrix multiply C[b] = A[b] · B[b] with A and B read through arbitrary strides (so transposed
// and broadcast views need no copy), inputs of any float dtype widened to f32 on load, f32 accumulation,
// and a contiguous output [batch, M, N] through the fused epilogue (gemm-epilogue.ts). Two variants here:
//  - 'tiled': a BM x BN output tile per workgroup, staged through workgroup memory BK deep, each thread
//    owning a TM x TN block (vec4 accumulators). Correct for any M, N, K (edges are zero-padded on load).
//    The shape for real GPUs (shared memory is fast there, barriers cheap).
//  - 'naive': one invocation per output element, the peer that benchmarks compare against.
// The others: gemm-cpu.ts ('packed', for CPU-like adapters), gemm-gemv.ts (decode), gemm-sgmat.ts
// (subgroup matrices / tensor cores).
import type { DType } from './dtype.js';
import { batchOffsetsWGSL, batchTileWGSL } from './gemm-common.js';
import { PARAMS_DECL, LINEAR_WG, type KernelSource } from './kernel.js';
import { bufferDecl, loadExpr, DTYPE_HELPERS } from './wgsl.js';
import { epilogueWgsl, epilogueKey, NO_EPILOGUE, type Epilogue } from './gemm-epilogue.js';
import { im2colWgsl } from './conv-im2col.js';

/** Every GEMM kernel the planner can pick (engine/ops/matmul.ts planMatmul). */
export type MatmulVariant = 'tiled' | 'naive' | 'packed' | 'gemv_k' | 'gemv_n' | 'sgmat';

export interface MatmulConfig {
  variant: 'tiled' | 'naive';
  /** Number of broadcast batch dims the kernel unravels (>= 1). */
  batchRank: number;
  aDtype: DType;
  bDtype: DType;
  /** Fused epilogue (bias, activation, residual, 16-bit output); default: plain f32 output. */
  epi?: Epilogue;
  /**
   * 'tiled' only: B is the implicit im2col matrix of an image (kernels/conv-im2col.ts), addressed from the
   * geometry block that follows the batch parameters (sBk, sBn unused; B's batch strides give each
   * batch's image). For implicit-GEMM convolution.
   */
  bIm2col?: boolean;
}

/** Tile geometry of the tiled variant (fixed: 8 x 8 threads, 8 x 8 outputs each, BK = 16). */
export const TILE = { BM: 64, BN: 64, BK: 16, TM: 8, TN: 8, THREADS: 64 } as const;
export const NAIVE_WORKGROUP = 64;

/**
 * Parameter block shared by the GEMM kernels: [M, N, K, tilesN, tilesM, nBatch, offA, offB, sAm, sAk, sBk, sBn,
 *   biasOff, resOff, batchShape(R), batchStridesA(R), batchStridesB(R)] (R = batchRank). For 'naive',
 *   tilesN/tilesM are unused.
 */
export const MATMUL_PARAMS_FIXED = 14;

function common(cfg: MatmulConfig): string {
  const R = cfg.batchRank;
  const P0 = MATMUL_PARAMS_FIXED;
  return `
${PARAMS_DECL}
${bufferDecl(1, 'A', cfg.aDtype, 'read')}
${bufferDecl(2, 'B', cfg.bDtype, 'read')}
${DTYPE_HELPERS}
${epilogueWgsl(cfg.epi ?? NO_EPILOGUE)}
${LINEAR_WG}
fn ldA(e: u32) -> f32 { return ${loadExpr('A', cfg.aDtype, 'e')}; }
fn ldB(e: u32) -> f32 { return ${loadExpr('B', cfg.bDtype, 'e')}; }
${cfg.bIm2col ? im2colWgsl(P0 + 3 * R, 'ldB') : ''}
${batchOffsetsWGSL(R, P0)}`;
}

function tiledKernel(cfg: MatmulConfig): string {
  const { BM, BN, BK, TM, TN, THREADS } = TILE;
  // The load mappings below assume this geometry: 8 x 8 threads, each owning 8 rows x 8 columns (two vec4
  // per row), workgroup memory holding the A tile as [k][m / 4] and the B tile as [k][n / 4].
  if (BM !== 64 || BN !== 64 || BK !== 16 || TM !== 8 || TN !== 8 || THREADS !== 64) throw new Error('matmul: unsupported tile');
  const Q = [0, 1, 2, 3];
  // A: thread (k = lid % 16, q = lid / 16) loads, for r < 4, rows 4 * (q + 4r) .. +3 of column k.
  // B: thread (n4 = lid % 16, q = lid / 16) loads, for r < 4, columns 4 * n4 .. +3 of row q + 4r.
  const loadA = Q.map((r) => `{
      let gm = row0 + (q + ${4 * r}u) * 4u;
      As[k * 16u + q + ${4 * r}u] = vec4<f32>(${Q.map((i) => `select(0.0, ldA(aBase + (gm + ${i}u) * sAm), kin && gm + ${i}u < M)`).join(', ')});
    }`).join('\n    ');
  const loadB = Q.map((r) => cfg.bIm2col ? `{
      let gk = k0 + q + ${4 * r}u;
      var v = vec4<f32>(0.0);
      for (var j = 0u; j < 4u; j++) { if (gk < K && gn + j < N) { v[j] = im2col(offs.y, gk, gn + j); } }
      Bs[(q + ${4 * r}u) * 16u + n4] = v;
    }` : `{
      let gk = k0 + q + ${4 * r}u;
      let bBase = offs.y + gk * sBk;
      Bs[(q + ${4 * r}u) * 16u + n4] = vec4<f32>(${Q.map((j) => `select(0.0, ldB(bBase + (gn + ${j}u) * sBn), gk < K && gn + ${j}u < N)`).join(', ')});
    }`).join('\n    ');
  const rows = [0, 1, 2, 3, 4, 5, 6, 7];
  const decl = rows.map((i) => `var c${i}0 = vec4<f32>(0.0); var c${i}1 = vec4<f32>(0.0);`).join('\n  ');
  const fmas = rows.map((i) => `c${i}0 = fma(vec4<f32>(a${i >> 2}[${i & 3}]), b0, c${i}0); c${i}1 = fma(vec4<f32>(a${i >> 2}[${i & 3}]), b1, c${i}1);`).join('\n      ');
  const pairs = (cfg.epi ?? NO_EPILOGUE).out !== 'f32';
  // 16-bit outputs: the thread owns 8 consecutive columns starting at an even one, so it writes whole
  // words (the planner only asks for that when N is even).
  const stores = rows.map((i) => `
  if (row + ${i}u < M) {
    let o = cBase + (row + ${i}u) * N + col;
    ${pairs
    ? `for (var j = 0u; j < 4u; j += 2u) { if (col + j < N) { st2(o + j, col + j, c${i}0[j], c${i}0[j + 1u]); } if (col + 4u + j < N) { st2(o + 4u + j, col + 4u + j, c${i}1[j], c${i}1[j + 1u]); } }`
    : `for (var j = 0u; j < 4u; j++) { if (col + j < N) { st1(o + j, col + j, c${i}0[j]); } if (col + 4u + j < N) { st1(o + 4u + j, col + 4u + j, c${i}1[j]); } }`}
  }`).join('');
  return `${common(cfg)}
var<workgroup> As: array<vec4<f32>, ${(BK * BM) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(BK * BN) / 4}>;
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let M = P[0]; let N = P[1]; let K = P[2];
  ${batchTileWGSL(BM, BN)}
  let offs = batchOffsets(batch);
  let sAm = P[8]; let sAk = P[9]; let sBk = P[10]; let sBn = P[11];
  let tx = lid % 8u; let ty = lid / 8u;
  let q = lid / 16u; let k = lid % 16u; let n4 = lid % 16u;
  let gn = col0 + n4 * 4u;
  ${decl}
  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {
    let kin = k0 + k < K;
    let aBase = offs.x + (k0 + k) * sAk;
    ${loadA}
    ${loadB}
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk++) {
      let a0 = As[kk * 16u + ty * 2u];
      let a1 = As[kk * 16u + ty * 2u + 1u];
      let b0 = Bs[kk * 16u + tx * 2u];
      let b1 = Bs[kk * 16u + tx * 2u + 1u];
      ${fmas}
    }
    workgroupBarrier();
  }
  let row = row0 + ty * 8u;
  let col = col0 + tx * 8u;
  let cBase = batch * M * N;${stores}
}`;
}

function naiveKernel(cfg: MatmulConfig): string {
  return `${common(cfg)}
@compute @workgroup_size(${NAIVE_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let M = P[0]; let N = P[1]; let K = P[2];
  let e = linearWorkgroup(wid, nwg) * ${NAIVE_WORKGROUP}u + lid;
  if (e >= P[5] * M * N) { return; }
  let batch = e / (M * N);
  let i = (e / N) % M;
  let j = e % N;
  let offs = batchOffsets(batch);
  let sAm = P[8]; let sAk = P[9]; let sBk = P[10]; let sBn = P[11];
  var acc = 0.0;
  for (var k = 0u; k < K; k++) { acc = fma(ldA(offs.x + i * sAm + k * sAk), ldB(offs.y + k * sBk + j * sBn), acc); }
  st1(e, j, acc);
}`;
}

export function matmulKernel(cfg: MatmulConfig): KernelSource {
  if (cfg.variant === 'naive' && (cfg.epi ?? NO_EPILOGUE).out !== 'f32') throw new Error('matmul: the naive kernel writes f32 only');
  if (cfg.variant === 'naive' && cfg.bIm2col) throw new Error('matmul: bIm2col is a tiled-kernel option');
  const code = cfg.variant === 'tiled' ? tiledKernel(cfg) : naiveKernel(cfg);
  return { label: `matmul_${cfg.variant}${cfg.bIm2col ? '_im2col' : ''}_${cfg.aDtype}_${cfg.bDtype}_b${cfg.batchRank}_${epilogueKey(cfg.epi ?? NO_EPILOGUE)}`, code };
}
