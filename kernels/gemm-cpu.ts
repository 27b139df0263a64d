// GEMM for CPU-like adapters (llvmpipe / SwiftShader), where a workgroup runs on one CPU thread with
// invocations in SIMD chunks of 8 lanes, every storage load costs a bounds check and (for differing
// addresses) a gather, workgroup memory is ordinary memory and barriers are coroutine switches. So:
//  - 'pack': one pass copies each operand (any strides, batch broadcast, any float dtype) into f32
//    panels of 8 rows: P[(batch, block, k/4, lane)] = vec4 of row block*8+lane, k..k+3, zero-padded.
//    A gather of 8 lanes then reads 128 contiguous bytes and the GEMM streams memory sequentially.
//  - 'packed': a workgroup is one subgroup of 8 lanes and owns a (8*TMR) x (8*TN) output tile. Per
//    4 steps of k, each lane loads one vec4 of A per row block (8 rows across the lanes) and one vec4
//    of B per column block; A values reach every lane through subgroupBroadcast (a register shuffle),
//    B values are per lane (lane = output column). No workgroup memory, no barriers: the ratio of
//    FMAs to loads is what matters here (measured: loads cost ~10x an FMA on llvmpipe).
import type { DType } from './dtype.js';
import { PARAMS_DECL, LINEAR_WG, type KernelSource } from './kernel.js';
import { threadKernel } from './skeletons.js';
import { batchTileWGSL } from './gemm-common.js';
import { bufferDecl, loadExpr, DTYPE_HELPERS } from './wgsl.js';
import { epilogueWgsl, epilogueKey, type Epilogue } from './gemm-epilogue.js';

/** Register tile of the packed kernel: rows = 8 * TMR, columns = 8 * TN. */
export const PACKED_TILE = { TMR: 4, TN: 4, LANES: 8 } as const;
export const PACK_WORKGROUP = 64;
/** Fixed part of the pack parameter block; then batchShape(R), batchStrides(R). */
export const PACK_PARAMS_FIXED = 8;

/**
 * The shared shape of the pack kernels: one invocation per output vec4 Y[(b, block, k/4, lane)], the
 * element (row = block·8 + lane, k..k+3) of batch b, zero past `rows` (P[0]) and K (P[1]). Params start
 * [rows, K, K4, blocks, nBatch, ...]: `blocks` is the padded number of 8-row blocks per batch.
 * `batchBase` are statements that may read `b` (the batch) and declare what `element(row, k)` uses.
 */
export function panelPackCode(dtype: DType, helpers: string, batchBase: string, element: (row: string, k: string) => string,
  vec4Element?: (row: string, k: string) => string): string {
  // vec4Element: X is read as vec4<f32> (f32, contiguous and aligned along K, K a multiple of 4).
  const X = vec4Element ? '@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;' : bufferDecl(1, 'X', dtype, 'read');
  const ld = vec4Element ? '' : `fn ld(e: u32) -> f32 { return ${loadExpr('X', dtype, 'e')}; }`;
  const fill = vec4Element ? `v = ${vec4Element('row', 'k')};`
    : `for (var c = 0u; c < 4u; c++) { if (k + c < K) { v[c] = ${element('row', 'k + c')}; } }`;
  return threadKernel({ W: PACK_WORKGROUP, count: 'P[4] * P[3] * P[2] * 8u', decls: [X,
    '@group(0) @binding(2) var<storage, read_write> Y: array<vec4<f32>>;'],
  helpers: `${ld}\n${helpers}`, body: `
  let rows = P[0]; let K = P[1]; let K4 = P[2]; let blocks = P[3];
  // Two divisions per item (the dearest instruction on CPU drivers): t = ((b * blocks + blk) * K4 + k4) * 8 + lane.
  let lane = t & 7u;
  let tq = t >> 3u;
  let k4 = tq % K4;
  let tb = tq / K4;
  let blk = tb % blocks;
  let b = tb / blocks;
  ${batchBase}
  let row = blk * 8u + lane;
  let k = k4 * 4u;
  var v = vec4<f32>(0.0);
  if (row < rows) {
    ${fill}
  }
  Y[t] = v;` });
}

/**
 * Pack kernel for strided operands (`vec4`: f32 rows contiguous along K, with K, the offset and every
 * stride but sK multiples of 4, read 16 bytes at a time). Params: [rows, K, K4, blocks, nBatch, offset, sRow, sK,
 * batchShape(R), batchStrides(R)]: element (r, k) of batch b at offset + batchOffset(b) + r·sRow + k·sK.
 */
export function packKernel(dtype: DType, batchRank: number, vec4 = false): KernelSource {
  const R = batchRank, P0 = PACK_PARAMS_FIXED;
  const code = panelPackCode(dtype, '', `var bb = b;
  var off = P[5];
  for (var d = ${R - 1}; d >= 0; d--) {
    let s = P[${P0}u + u32(d)];
    off += (bb % s) * P[${P0 + R}u + u32(d)];
    bb = bb / s;
  }`, (row, k) => `ld(off + ${row} * P[6] + (${k}) * P[7])`, vec4 ? (row, k) => `X[(off + ${row} * P[6] + ${k}) / 4u]` : undefined);
  return { label: `gemm_pack_${dtype}_b${R}${vec4 ? '_v4' : ''}`, code };
}

/**
 * Packed GEMM. Params (shared GEMM layout): [M, N, K4, tilesN, tilesM, nBatch, -, -, -, -, -, -,
 * biasOff, resOff]. A panels hold tilesM * TMR blocks per batch, B panels tilesN * TN blocks.
 */
export function packedKernel(epi: Epilogue, tile: { TMR: number; TN: number } = PACKED_TILE): KernelSource {
  const { TMR, TN } = tile;
  const TM = 8 * TMR;
  const acc: string[] = [], body: string[] = [], st: string[] = [];
  for (let i = 0; i < TM; i++) acc.push(Array.from({ length: TN }, (_, j) => `var c${i}_${j} = 0.0;`).join(' '));
  for (let r = 0; r < TMR; r++) body.push(`let av${r} = AP[aP + ${r * 8}u * K4];`);
  for (let j = 0; j < TN; j++) body.push(`let bv${j} = BP[bP + ${j * 8}u * K4];`);
  for (let u = 0; u < 4; u++) {
    for (let i = 0; i < TM; i++) {
      const fmas = Array.from({ length: TN }, (_, j) => `c${i}_${j} = fma(a, bv${j}[${u}], c${i}_${j});`).join(' ');
      body.push(`{ let a = subgroupBroadcast(av${i >> 3}[${u}], ${i & 7}u); ${fmas} }`);
    }
  }
  const pairs = epi.out !== 'f32';
  for (let i = 0; i < TM; i++) {
    for (let j = 0; j < TN; j++) {
      const pos = `let row = row0 + ${i}u; let col = col0 + ${8 * j}u + lane; let idx = cBase + row * N + col;`;
      if (!pairs) st.push(`{ ${pos} if (row < M && col < N) { st1(idx, col, c${i}_${j}); } }`);
      else st.push(`{ ${pos} let o = subgroupShuffleXor(c${i}_${j}, 1u); if ((lane & 1u) == 0u && row < M && col < N) { st2(idx, col, c${i}_${j}, o); } }`);
    }
  }
  const code = `
enable subgroups;
${PARAMS_DECL}
@group(0) @binding(1) var<storage, read> AP: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> BP: array<vec4<f32>>;
${DTYPE_HELPERS}
${LINEAR_WG}
${epilogueWgsl(epi)}
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
  let M = P[0]; let N = P[1]; let K4 = P[2];
  ${batchTileWGSL(TM, 8 * TN)}
  let by = tileRow; let bx = tileCol;
  var aP = ((batch * tilesM + by) * ${TMR}u * K4) * 8u + lane;
  var bP = ((batch * tilesN + bx) * ${TN}u * K4) * 8u + lane;
  let cBase = batch * M * N;
  ${acc.join('\n  ')}
  for (var k4 = 0u; k4 < K4; k4++) {
    ${body.join('\n    ')}
    aP += 8u; bP += 8u;
  }
  ${st.join('\n  ')}
}`;
  return { label: `gemm_packed_${TMR}x${TN}_${epilogueKey(epi)}`, code };
}
