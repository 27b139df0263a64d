// Decode-shaped GEMM (M = 1..16 rows against a large K x N matrix), memory-bound: the whole of B is
// read once, so the kernel is about streaming B with few, wide loads and no wasted tiles.
//  - 'gemv_k' (B contiguous along K, e.g. linear's weight W[n, k] read as B = Wᵀ): a subgroup owns NO
//    output columns; its lanes split K in runs of 4 consecutive elements, so one load across the lanes
//    covers contiguous memory; partial sums meet through subgroupAdd. 16-bit operands are read as u32
//    words, two values per load, when every row starts on a word.
//  - 'gemv_n' (B contiguous along N): each invocation owns 4 adjacent columns and walks all of K; the
//    A values are the same for all lanes (uniform loads, broadcast).
// Both apply the fused epilogue. MR (= M) is compiled in.
import type { DType } from './dtype.js';
import { batchOffsetsWGSL } from './gemm-common.js';
import { PARAMS_DECL, LINEAR_WG, type KernelSource } from './kernel.js';
import { bufferDecl, loadExpr, DTYPE_HELPERS } from './wgsl.js';
import { epilogueWgsl, epilogueKey, type Epilogue } from './gemm-epilogue.js';

export const GEMV_WORKGROUP = 64;
/** Output columns per subgroup ('gemv_k') and per invocation ('gemv_n'). */
export const GEMV_NO = 4;
export const GEMV_MAX_M = 16;

export interface GemvConfig {
  variant: 'gemv_k' | 'gemv_n';
  M: number;
  batchRank: number;
  aDtype: DType;
  bDtype: DType;
  /** Load 16-bit A ('gemv_k') / B (both) two at a time (rows start on even elements; 'gemv_n': sBn = 1). */
  aPairs: boolean;
  bPairs: boolean;
  epi: Epilogue;
}

function is16(d: DType): boolean { return d === 'f16' || d === 'bf16'; }

function pairLoad(arr: string, d: DType): string {
  // e is even: the word holds elements e (low half) and e + 1 (high half).
  if (d === 'f16') return `unpack2x16float(${arr}[e >> 1u])`;
  return `vec2<f32>(bitcast<f32>(${arr}[e >> 1u] << 16u), bitcast<f32>(${arr}[e >> 1u] & 0xffff0000u))`;
}

const PARAM_COMMENT = '// P: [M, N, K, blocksN, -, nBatch, offA, offB, sAm, sAk, sBk, sBn, biasOff, resOff, batchShape, stridesA, stridesB]';

function batchFn(R: number): string { return batchOffsetsWGSL(R); }

export function gemvKernel(cfg: GemvConfig): KernelSource {
  const { M: MR, epi } = cfg;
  const NO = GEMV_NO;
  // g (and so the early exit) is the same for all lanes of a subgroup, which the uniformity analysis
  // cannot see: subgroupAdd runs in subgroup-uniform control flow in fact.
  const head = `
enable subgroups;
diagnostic(off, subgroup_uniformity);
${PARAM_COMMENT}
${PARAMS_DECL}
${bufferDecl(1, 'A', cfg.aDtype, 'read')}
${bufferDecl(2, 'B', cfg.bDtype, 'read')}
${DTYPE_HELPERS}
${LINEAR_WG}
${epilogueWgsl(epi)}
${batchFn(cfg.batchRank)}
fn ldA(e: u32) -> f32 { return ${loadExpr('A', cfg.aDtype, 'e')}; }
fn ldB(e: u32) -> f32 { return ${loadExpr('B', cfg.bDtype, 'e')}; }
fn ldA2(e: u32) -> vec2<f32> { return ${cfg.aPairs ? pairLoad('A', cfg.aDtype) : 'vec2<f32>(ldA(e), ldA(e + 1u))'}; }
fn ldB2(e: u32) -> vec2<f32> { return ${cfg.bPairs ? pairLoad('B', cfg.bDtype) : 'vec2<f32>(ldB(e), ldB(e + 1u))'}; }`;
  const pairs = epi.out !== 'f32';
  const decl: string[] = [];
  for (let m = 0; m < MR; m++) decl.push(Array.from({ length: NO }, (_, j) => `var c${m}_${j} = 0.0;`).join(' '));
  if (cfg.variant === 'gemv_k') {
    if ((cfg.aPairs && !is16(cfg.aDtype)) || (cfg.bPairs && !is16(cfg.bDtype))) throw new Error('gemv: pair loads are for 16-bit dtypes');
    // Pair loads make ldX2 one word load; otherwise ldX2 is two element loads (any stride-1 layout).
    const step = (s: string) => `{
      ${Array.from({ length: MR }, (_, m) => `let a${m} = ldA2(aRow${m} + ${s});`).join(' ')}
      ${Array.from({ length: NO }, (_, j) => `let b${j} = ldB2(bRow${j} + ${s});`).join(' ')}
      ${Array.from({ length: MR }, (_, m) => Array.from({ length: NO }, (_, j) => `c${m}_${j} = fma(a${m}.x, b${j}.x, fma(a${m}.y, b${j}.y, c${m}_${j}));`).join(' ')).join('\n      ')}
    }`;
    const tailStep = `{
      ${Array.from({ length: MR }, (_, m) => `let a${m} = ldA(aRow${m} + k);`).join(' ')}
      ${Array.from({ length: NO }, (_, j) => `let b${j} = ldB(bRow${j} + k);`).join(' ')}
      ${Array.from({ length: MR }, (_, m) => Array.from({ length: NO }, (_, j) => `c${m}_${j} = fma(a${m}, b${j}, c${m}_${j});`).join(' ')).join('\n      ')}
    }`;
    const stores: string[] = [];
    for (let m = 0; m < MR; m++) {
      for (let j = 0; j < NO; j++) stores.push(`let s${m}_${j} = subgroupAdd(c${m}_${j});`);
      if (!pairs) {
        for (let j = 0; j < NO; j++) stores.push(`if (lane == 0u && n0 + ${j}u < N) { st1(cBase + ${m}u * N + n0 + ${j}u, n0 + ${j}u, s${m}_${j}); }`);
      } else {
        for (let j = 0; j < NO; j += 2) stores.push(`if (lane == 0u && n0 + ${j}u < N) { st2(cBase + ${m}u * N + n0 + ${j}u, n0 + ${j}u, s${m}_${j}, s${m}_${j + 1}); }`);
      }
    }
    const code = `${head}
@compute @workgroup_size(${GEMV_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) sgs: u32) {
  let N = P[1]; let K = P[2]; let blocksN = P[3];
  let g = linearWorkgroup(wid, nwg) * (${GEMV_WORKGROUP}u / sgs) + lid / sgs;
  let batch = g / blocksN;
  if (batch >= P[5]) { return; }
  let n0 = (g % blocksN) * ${NO}u;
  let offs = batchOffsets(batch);
  let sAm = P[8]; let sBn = P[11];
  ${Array.from({ length: MR }, (_, m) => `let aRow${m} = offs.x + ${m}u * sAm;`).join(' ')}
  ${Array.from({ length: NO }, (_, j) => `let bRow${j} = offs.y + min(n0 + ${j}u, N - 1u) * sBn;`).join(' ')}
  let cBase = batch * ${MR}u * N;
  ${decl.join('\n  ')}
  let stride = sgs * 4u;
  var k = lane * 4u;
  for (; k + 3u < K; k += stride) {
    ${step('k')}
    ${step('k + 2u')}
  }
  for (; k < K; k++) ${tailStep}
  ${stores.join('\n  ')}
}`;
    return { label: `gemv_k_m${MR}_${cfg.aDtype}${cfg.aPairs ? 'p' : ''}_${cfg.bDtype}${cfg.bPairs ? 'p' : ''}_b${cfg.batchRank}_${epilogueKey(epi)}`, code };
  }
  // gemv_n
  // With bPairs (16-bit B, rows starting on even elements) two adjacent columns come from one word.
  const bLoads = cfg.bPairs
    ? Array.from({ length: NO / 2 }, (_, p) => `let w${p} = ldB2(bk + ((min(n0 + ${2 * p}u, N - 1u)) & ~1u)); let b${2 * p} = w${p}.x; let b${2 * p + 1} = w${p}.y;`).join(' ')
    : Array.from({ length: NO }, (_, j) => `let b${j} = ldB(bk + cols[${j}] * sBn);`).join(' ');
  const body = `${bLoads}
    ${Array.from({ length: MR }, (_, m) => `{ let a = ldA(aRow${m} + k * sAk); ${Array.from({ length: NO }, (_, j) => `c${m}_${j} = fma(a, b${j}, c${m}_${j});`).join(' ')} }`).join('\n    ')}`;
  const stores: string[] = [];
  for (let m = 0; m < MR; m++) {
    if (!pairs) for (let j = 0; j < NO; j++) stores.push(`if (n0 + ${j}u < N) { st1(cBase + ${m}u * N + n0 + ${j}u, n0 + ${j}u, c${m}_${j}); }`);
    else for (let j = 0; j < NO; j += 2) stores.push(`if (n0 + ${j}u < N) { st2(cBase + ${m}u * N + n0 + ${j}u, n0 + ${j}u, c${m}_${j}, c${m}_${j + 1}); }`);
  }
  const code = `${head}
@compute @workgroup_size(${GEMV_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let N = P[1]; let K = P[2]; let blocksN = P[3];
  let g = linearWorkgroup(wid, nwg) * ${GEMV_WORKGROUP}u + lid;
  let batch = g / blocksN;
  if (batch >= P[5]) { return; }
  let n0 = (g % blocksN) * ${NO}u;
  let offs = batchOffsets(batch);
  let sAm = P[8]; let sAk = P[9]; let sBk = P[10]; let sBn = P[11];
  let cols = array<u32, ${NO}>(${Array.from({ length: NO }, (_, j) => `min(n0 + ${j}u, N - 1u)`).join(', ')});
  ${Array.from({ length: MR }, (_, m) => `let aRow${m} = offs.x + ${m}u * sAm;`).join(' ')}
  let cBase = batch * ${MR}u * N;
  ${decl.join('\n  ')}
  for (var k = 0u; k < K; k++) {
    let bk = offs.y + k * sBk;
    ${body}
  }
  ${stores.join('\n  ')}
}`;
  return { label: `gemv_n_m${MR}_${cfg.aDtype}_${cfg.bDtype}${cfg.bPairs ? 'p' : ''}_b${cfg.batchRank}_${epilogueKey(epi)}`, code };
}
