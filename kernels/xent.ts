// Fused cross-entropy over class rows: the forward writes each row's negative log-likelihood and its
// logsumexp without materialising log-probabilities; the backward writes (softmax - onehot) * g per row.
import type { DType } from './dtype.js';
import { PARAMS_DECL, LINEAR_WG, type KernelSource } from './kernel.js';
import { bufferDecl, computeType, loadExpr, DTYPE_HELPERS } from './wgsl.js';
import { workgroupReduceWGSL } from './workgroup-reduce.js';

export const XENT_WORKGROUP = 64;
const ld = (arr: string, dt: DType, e: string) => (computeType(dt) === 'f32' ? loadExpr(arr, dt, e) : `f32(${loadExpr(arr, dt, e)})`);

/**
 * Params: [rows, C, ignoreIndex (i32 bits)]. Bindings: X (logits, dtype), T (i32 targets),
 * NLL (f32 [rows]), LSE (f32 [rows]). Ignored or out-of-range targets give 0.
 */
export function xentForwardKernel(dtype: DType): KernelSource {
  const W = XENT_WORKGROUP;
  const code = `
${PARAMS_DECL}
${bufferDecl(1, 'X', dtype, 'read')}
@group(0) @binding(2) var<storage, read> T: array<i32>;
@group(0) @binding(3) var<storage, read_write> NLL: array<f32>;
@group(0) @binding(4) var<storage, read_write> LSE: array<f32>;
${DTYPE_HELPERS}
${LINEAR_WG}
${workgroupReduceWGSL(W)}
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let r = linearWorkgroup(wid, nwg);
  if (r >= P[0]) { return; }
  let C = P[1];
  let base = r * C;
  var m = -inf_();
  for (var c = lid; c < C; c += ${W}u) { m = max(m, ${ld('X', dtype, 'base + c')}); }
  let mx = wgMax(m, lid);
  var acc = 0.0;
  for (var c = lid; c < C; c += ${W}u) { acc += exp(${ld('X', dtype, 'base + c')} - mx); }
  let total = wgSum(acc, lid);
  if (lid == 0u) {
    let lse = mx + log(total);
    LSE[r] = lse;
    let t = T[r];
    if (t == bitcast<i32>(P[2]) || t < 0 || u32(t) >= C) { NLL[r] = 0.0; }
    else { NLL[r] = lse - ${ld('X', dtype, 'base + u32(t)')}; }
  }
}`;
  return { label: `xent_fwd_${dtype}`, code };
}

/**
 * Params: [rows, C, ignoreIndex]. Bindings: X, T, LSE, G (f32 [rows], gradient of each row's NLL),
 * DX (f32 [rows, C]). One invocation per element.
 */
export function xentBackwardKernel(dtype: DType): KernelSource {
  const code = `
${PARAMS_DECL}
${bufferDecl(1, 'X', dtype, 'read')}
@group(0) @binding(2) var<storage, read> T: array<i32>;
@group(0) @binding(3) var<storage, read> LSE: array<f32>;
@group(0) @binding(4) var<storage, read> G: array<f32>;
@group(0) @binding(5) var<storage, read_write> DX: array<f32>;
${DTYPE_HELPERS}
${LINEAR_WG}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = linearWorkgroup(wid, nwg) * 256u + lid;
  let C = P[1];
  if (e >= P[0] * C) { return; }
  let r = e / C;
  let c = e % C;
  let t = T[r];
  if (t == bitcast<i32>(P[2]) || t < 0 || u32(t) >= C) { DX[e] = 0.0; return; }
  let p = exp(${ld('X', dtype, 'e')} - LSE[r]);
  DX[e] = G[r] * (p - select(0.0, 1.0, u32(t) == c));
}`;
  return { label: `xent_bwd_${dtype}`, code };
}
