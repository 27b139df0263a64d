// GEMM on subgroup matrices (tensor cores / cooperative matrices) through Dawn's
// `chromium-experimental-subgroup-matrix` feature: f16 inputs, f32 accumulation.
//
// Written in Dawn's current WGSL form: `subgroupMatrixLoad<T, row_major|col_major>(p, offset, stride)` and
// `subgroupMatrixStore<row_major|col_major>(p, offset, value, stride)` (the older form with the major order
// as a bool argument is deprecated: Tint warns). Every config NVIDIA, Intel and Apple report is compiled by
// Tint on Dawn's null backend in test/kernels/gemm-sgmat.test.ts; no GPU has RUN it yet. The planner selects
// it only where the adapter reports an f16 -> f32 config.
// The module uses no subgroup arithmetic (subgroupAdd etc.) and does not `enable subgroups`: mixing
// subgroup arithmetic with cooperative matrices in one module is reported to crash a driver at pipeline
// creation. Dawn requires the workgroup's x size to be a multiple of the adapter's maximum subgroup size.
//
// Shape: a workgroup is one subgroup (the workgroup size is the adapter's fixed subgroup size) and owns
// SM x SN result matrices of the config's M x N, i.e. a (SM*cm) x (SN*cn) output tile. Each step of K
// loads SM left matrices straight from A (row-major, stride sAm) and SN right matrices from B (row-major
// when B is contiguous along N, column-major when it is contiguous along K, as linear's weight), and
// multiply-accumulates. The results go through workgroup memory so every lane can apply the fused
// epilogue (bias, activation, residual, 16-bit output) and write the output with bounds checks.
// Preconditions (checked by the planner): f16 A and B; M and N multiples of the output tile and K of the
// config's K (whole matrices are loaded, there is no edge handling on the load side); unit stride along K
// for A and along N or K for B; offsets and strides in f16 elements.
import { batchOffsetsWGSL, batchTileWGSL } from './gemm-common.js';
import { PARAMS_DECL, LINEAR_WG, type KernelSource } from './kernel.js';
import { DTYPE_HELPERS } from './wgsl.js';
import { epilogueWgsl, epilogueKey, type Epilogue } from './gemm-epilogue.js';

export interface SubgroupMatrixShape { M: number; N: number; K: number }

export interface SgmatConfig {
  /** The adapter's config (componentType f16, resultComponentType f32). */
  shape: SubgroupMatrixShape;
  /** Result matrices per subgroup along M and N. */
  SM: number;
  SN: number;
  subgroupSize: number;
  /** B contiguous along K (read column-major) rather than along N. */
  bKContig: boolean;
  batchRank: number;
  epi: Epilogue;
}

/** Output tile of one workgroup. */
export function sgmatTile(cfg: SgmatConfig): { TM: number; TN: number } {
  return { TM: cfg.SM * cfg.shape.M, TN: cfg.SN * cfg.shape.N };
}

/** Parameter block: the shared GEMM layout (kernels/matmul.ts MATMUL_PARAMS_FIXED = 14, then batch dims). */
export function sgmatKernel(cfg: SgmatConfig): KernelSource {
  const { M: cm, N: cn, K: ck } = cfg.shape;
  const { SM, SN, subgroupSize: SG, batchRank: R } = cfg;
  const { TM, TN } = sgmatTile(cfg);
  const P0 = 14;
  const L = `subgroup_matrix_left<f16, ${ck}, ${cm}>`;
  const Rt = `subgroup_matrix_right<f16, ${cn}, ${ck}>`;
  const Res = `subgroup_matrix_result<f32, ${cn}, ${cm}>`;
  const accs: string[] = [], loads: string[] = [], mmas: string[] = [], stores: string[] = [];
  for (let i = 0; i < SM; i++) for (let j = 0; j < SN; j++) accs.push(`var acc${i}_${j} = ${Res}();`);
  for (let i = 0; i < SM; i++) loads.push(`let a${i} = subgroupMatrixLoad<${L}, row_major>(&A, aOff + (row0 + ${i * cm}u) * sAm + k, sAm);`);
  for (let j = 0; j < SN; j++) {
    loads.push(cfg.bKContig
      ? `let b${j} = subgroupMatrixLoad<${Rt}, col_major>(&B, bOff + (col0 + ${j * cn}u) * sBn + k, sBn);`
      : `let b${j} = subgroupMatrixLoad<${Rt}, row_major>(&B, bOff + k * sBk + col0 + ${j * cn}u, sBk);`);
  }
  for (let i = 0; i < SM; i++) for (let j = 0; j < SN; j++) mmas.push(`acc${i}_${j} = subgroupMatrixMultiplyAccumulate(a${i}, b${j}, acc${i}_${j});`);
  const pairs = cfg.epi.out !== 'f32';
  for (let i = 0; i < SM; i++) {
    for (let j = 0; j < SN; j++) {
      stores.push(`subgroupMatrixStore<row_major>(&tileOut, ${(i * cm) * TN + j * cn}u, acc${i}_${j}, ${TN}u);`);
    }
  }
  const write = pairs
    ? `for (var e = lane * 2u; e < ${TM * TN}u; e += ${2 * SG}u) {
    let r = row0 + e / ${TN}u; let c = col0 + e % ${TN}u;
    if (r < M && c < N) { st2(cBase + r * N + c, c, tileOut[e], tileOut[e + 1u]); }
  }`
    : `for (var e = lane; e < ${TM * TN}u; e += ${SG}u) {
    let r = row0 + e / ${TN}u; let c = col0 + e % ${TN}u;
    if (r < M && c < N) { st1(cBase + r * N + c, c, tileOut[e]); }
  }`;
  const code = `
enable f16;
enable chromium_experimental_subgroup_matrix;
${PARAMS_DECL}
@group(0) @binding(1) var<storage, read> A: array<f16>;
@group(0) @binding(2) var<storage, read> B: array<f16>;
${DTYPE_HELPERS}
${LINEAR_WG}
${epilogueWgsl(cfg.epi)}
var<workgroup> tileOut: array<f32, ${TM * TN}>;
${batchOffsetsWGSL(R, P0)}
@compute @workgroup_size(${SG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
  let M = P[0]; let N = P[1]; let K = P[2];
  ${batchTileWGSL(TM, TN)}
  let offs = batchOffsets(batch);
  let aOff = offs.x; let bOff = offs.y;
  let sAm = P[8]; let sBk = P[10]; let sBn = P[11];
  let cBase = batch * M * N;
  ${accs.join('\n  ')}
  for (var k = 0u; k < K; k += ${ck}u) {
    ${loads.join('\n    ')}
    ${mmas.join('\n    ')}
  }
  ${stores.join('\n  ')}
  workgroupBarrier();
  ${write}
}`;
  return { label: `gemm_sgmat_${cm}x${cn}x${ck}_${SM}x${SN}_sg${SG}_${cfg.bKContig ? 'kc' : 'nc'}_b${R}_${epilogueKey(cfg.epi)}`, code };
}
