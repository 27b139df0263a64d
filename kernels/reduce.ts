// Reduction over a set of axes: one workgroup per output element; its threads stride over the reduced
// elements and combine in shared memory. Two-pass reductions (logsumexp, variance) re-read the row.
import type { DType } from './dtype.js';
import { PARAMS_DECL, LINEAR_WG, type KernelSource } from './kernel.js';
import { bufferDecl, loadF32, DTYPE_HELPERS } from './wgsl.js';

export type ReduceOp = 'sum' | 'max' | 'min' | 'argmax' | 'argmin' | 'logsumexp' | 'var';
const REDUCE_WORKGROUP = 64;

/**
 * Params: [nOut, nRed, keptShape(RK), keptStrides(RK), redShape(RR), redStrides(RR), offset, correction(f32 bits)].
 * Output: f32 values (i32 indices for argmax/argmin), one per kept index, row-major.
 */
export function reduceKernel(op: ReduceOp, dtype: DType, rk: number, rr: number): KernelSource {
  const W = REDUCE_WORKGROUP;
  const load = (e: string) => loadF32('X', dtype, e);
  const isArg = op === 'argmax' || op === 'argmin';
  const K = rk, Rr = rr;
  const keptOffset = K === 0 ? '0u' : Array.from({ length: K }, (_, d) => `kdig(o, ${d}u) * P[${2 + K + d}]`).join(' + ');
  const init = op === 'max' || op === 'argmax' ? '-inf_()' : op === 'min' || op === 'argmin' ? 'inf_()' : '0.0';
  // combine(a, ia, b, ib): keeps the better value; ties keep the smaller index (as PyTorch's argmax). NaN beats
  // every number (max/min propagate it, arg* point at the first NaN, as PyTorch); NaN is tested on the bits
  // (isnan_) because compilers fold b != b to false.
  const cmp = op === 'argmax' || op === 'max' ? 'b > a' : 'b < a';
  const better = `((isnan_(b) && (!isnan_(a) || ib < ia)) || (!isnan_(a) && !isnan_(b) && (${cmp} || (b == a && ib < ia))))`;
  const code = `
${PARAMS_DECL}
${bufferDecl(1, 'X', dtype, 'read')}
${bufferDecl(2, 'Y', isArg ? 'i32' : 'f32', 'read_write')}
${DTYPE_HELPERS}
${LINEAR_WG}
var<workgroup> sv: array<f32, ${W}>;
var<workgroup> si: array<u32, ${W}>;
fn kdig(o: u32, d: u32) -> u32 {
  var e = o;
  for (var k = ${K - 1}; k > i32(d); k--) { e = e / P[2u + u32(k)]; }
  return e % P[2u + d];
}
fn redOffset(r0: u32) -> u32 {
  var r = r0; var off = 0u;
  for (var d = ${Rr - 1}; d >= 0; d--) {
    let s = P[${2 + 2 * K}u + u32(d)];
    off += (r % s) * P[${2 + 2 * K + Rr}u + u32(d)];
    r = r / s;
  }
  return off;
}
fn combineTo(i: u32, j: u32) {
  let a = sv[i]; let b = sv[j]; let ia = si[i]; let ib = si[j];
  ${op === 'sum' || op === 'logsumexp' || op === 'var' ? 'sv[i] = a + b;' : `if (${better}) { sv[i] = b; si[i] = ib; }`}
}
fn treeReduce(lid: u32) {
  for (var s = ${W / 2}u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) { combineTo(lid, lid + s); }
  }
  workgroupBarrier();
}
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let o = linearWorkgroup(wid, nwg);
  let nOut = P[0];
  if (o >= nOut) { return; }
  let nRed = P[1];
  let base = P[${2 + 2 * K + 2 * Rr}u] + ${keptOffset};
  var acc: f32 = ${init};
  var accI: u32 = 0xffffffffu;
  for (var r = lid; r < nRed; r += ${W}u) {
    let b = ${load('base + redOffset(r)')};
    ${op === 'sum' || op === 'var' ? 'acc += b;' : op === 'logsumexp' ? 'acc = max(acc, b);' : `let a = acc; let ia = accI; let ib = r; if (${better}) { acc = b; accI = r; }`}
  }
  ${op === 'logsumexp' ? 'sv[lid] = acc; si[lid] = 0u; for (var s = ' + W / 2 + 'u; s > 0u; s = s >> 1u) { workgroupBarrier(); if (lid < s) { sv[lid] = max(sv[lid], sv[lid + s]); } } workgroupBarrier();' : 'sv[lid] = acc; si[lid] = accI; treeReduce(lid);'}
  ${op === 'logsumexp' ? `
  let m = workgroupUniformLoad(&sv[0]);
  var s2: f32 = 0.0;
  if (m == -inf_() || m == inf_()) { if (lid == 0u) { Y[o] = m; } return; }
  for (var r = lid; r < nRed; r += ${W}u) { s2 += exp(${load('base + redOffset(r)')} - m); }
  sv[lid] = s2; treeReduce(lid);
  if (lid == 0u) { Y[o] = m + log(sv[0]); }` : op === 'var' ? `
  let mean = workgroupUniformLoad(&sv[0]) / f32(nRed);
  var s2: f32 = 0.0;
  for (var r = lid; r < nRed; r += ${W}u) { let d = ${load('base + redOffset(r)')} - mean; s2 += d * d; }
  sv[lid] = s2; treeReduce(lid);
  if (lid == 0u) { Y[o] = sv[0] / (f32(nRed) - bitcast<f32>(P[${3 + 2 * K + 2 * Rr}u])); }` : isArg ? `
  if (lid == 0u) { Y[o] = i32(si[0]); }` : `
  if (lid == 0u) { Y[o] = sv[0]; }`}
}`;
  return { label: `reduce_${op}_${dtype}_k${rk}_r${rr}`, code };
}

export const THIN_WORKGROUP = 64;

/**
 * The same reductions with one invocation per output element, looping over the reduced elements: for
 * many outputs with few reduced elements each (e.g. summing a broadcast batch axis), where a workgroup
 * per output would mostly idle. Same parameter block and bindings as reduceKernel.
 */
export function reduceThinKernel(op: ReduceOp, dtype: DType, rk: number, rr: number): KernelSource {
  const full = reduceKernel(op, dtype, rk, rr).code;
  // Reuse the declarations and helper functions of the workgroup kernel (everything before its main).
  const prelude = full.slice(0, full.indexOf('fn combineTo'));
  const load = (e: string) => loadF32('X', dtype, e);
  const K = rk, Rr = rr;
  const keptOffset = K === 0 ? '0u' : Array.from({ length: K }, (_, d) => `kdig(o, ${d}u) * P[${2 + K + d}]`).join(' + ');
  const isArg = op === 'argmax' || op === 'argmin';
  const init = op === 'max' || op === 'argmax' ? '-inf_()' : op === 'min' || op === 'argmin' ? 'inf_()' : '0.0';
  // In order over r, so ties keep the first index; the first NaN wins and stays (see reduceKernel).
  const better = `(!isnan_(acc) && (isnan_(b) || ${op === 'argmax' || op === 'max' ? 'b > acc' : 'b < acc'}))`;
  const step = op === 'sum' || op === 'var' ? 'acc += b;' : op === 'logsumexp' ? 'acc = max(acc, b);'
    : `if (${better}) { acc = b; accI = r; }`;
  const finish = op === 'logsumexp' ? `
  if (acc == -inf_() || acc == inf_()) { Y[o] = acc; return; }
  var s2: f32 = 0.0;
  for (var r = 0u; r < nRed; r++) { s2 += exp(${load('base + redOffset(r)')} - acc); }
  Y[o] = acc + log(s2);` : op === 'var' ? `
  let mean = acc / f32(nRed);
  var s2: f32 = 0.0;
  for (var r = 0u; r < nRed; r++) { let d = ${load('base + redOffset(r)')} - mean; s2 += d * d; }
  Y[o] = s2 / (f32(nRed) - bitcast<f32>(P[${3 + 2 * K + 2 * Rr}u]));` : isArg ? `
  Y[o] = i32(accI);` : `
  Y[o] = acc;`;
  const code = `${prelude}
@compute @workgroup_size(${THIN_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let o = linearWorkgroup(wid, nwg) * ${THIN_WORKGROUP}u + lid;
  if (o >= P[0]) { return; }
  let nRed = P[1];
  let base = P[${2 + 2 * K + 2 * Rr}u] + ${keptOffset};
  var acc: f32 = ${init};
  var accI: u32 = 0u;
  for (var r = 0u; r < nRed; r++) {
    let b = ${load('base + redOffset(r)')};
    ${step}
  }${finish}
}`;
  return { label: `reduce_thin_${op}_${dtype}_k${rk}_r${rr}`, code };
}
