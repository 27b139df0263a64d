// The generic "map" kernel: one output element per invocation-slot, computed by a WGSL body from the
// element's multi-index. Elementwise ops with broadcasting, casts, copies of strided views, gathers,
// concatenation and padding are all maps; they differ only in their body.
import type { DType } from './dtype.js';
import { packFactor } from './dtype.js';
import { PARAMS_DECL, LINEAR_WG, type KernelSource } from './kernel.js';
import { bufferDecl, computeType, loadExpr, storeWordStmt, DTYPE_HELPERS } from './wgsl.js';

export interface MapInput { name: string; dtype: DType }

/** What distinguishes one map kernel from another: its body (and the helpers the body calls). */
export interface MapBody {
  label: string;
  /**
   * Body of `fn compute(idx: array<u32, RANK>) -> T`, T being the output's compute type. Available:
   * `ld_NAME(idx)` (strided load as the input's compute type), `off_NAME(idx)` (element offset),
   * `at_NAME(e)` (load by element offset), `shape(d)`, `sc_u(k)`, `sc_i(k)`, `sc_f(k)` (extra scalars).
   */
  body: string;
  /** Extra WGSL functions the body calls. */
  helpers?: string;
}

export interface MapSpec extends MapBody {
  inputs: MapInput[];
  out: DType;
  /** Rank of the output (>= 1). Every input is addressed with the same rank (strides may be 0). */
  rank: number;
}

export const MAP_WORKGROUP = 256;

/** Layout of the parameter block of a map kernel. */
function mapParamsLayout(rank: number, nInputs: number) {
  return { shapeAt: 1, inputAt: (i: number) => 1 + rank + i * (rank + 1), scalarsAt: 1 + rank + nInputs * (rank + 1) };
}

/** The extra-scalar readers and the index unravelling every map kernel declares. */
function scalarsAndUnravel(R: number, layout: ReturnType<typeof mapParamsLayout>): string {
  return `fn sc_u(k: u32) -> u32 { return P[${layout.scalarsAt} + k]; }
fn sc_i(k: u32) -> i32 { return bitcast<i32>(P[${layout.scalarsAt} + k]); }
fn sc_f(k: u32) -> f32 { return bitcast<f32>(P[${layout.scalarsAt} + k]); }
fn unravel(e0: u32) -> array<u32, ${R}> {
  var idx: array<u32, ${R}>;
  var e = e0;
  for (var d = ${R - 1}; d >= 1; d--) { let s = P[${layout.shapeAt} + u32(d)]; idx[d] = e % s; e = e / s; }
  idx[0] = e;
  return idx;
}`;
}

export function mapKernel(spec: MapSpec): KernelSource {
  const R = spec.rank;
  const T = computeType(spec.out);
  const pack = packFactor(spec.out);
  const layout = mapParamsLayout(R, spec.inputs.length);
  const decls = spec.inputs.map((inp, i) => bufferDecl(i + 1, `in_${inp.name}`, inp.dtype, 'read'));
  decls.push(bufferDecl(spec.inputs.length + 1, 'out', spec.out, 'read_write'));
  const accessors = spec.inputs.map((inp, i) => {
    const base = layout.inputAt(i);
    const ct = computeType(inp.dtype);
    const terms = Array.from({ length: R }, (_, d) => `idx[${d}] * P[${base + 1 + d}]`).join(' + ');
    return `
fn off_${inp.name}(idx: array<u32, ${R}>) -> u32 { return P[${base}] + ${terms}; }
fn at_${inp.name}(e: u32) -> ${ct} { return ${loadExpr(`in_${inp.name}`, inp.dtype, 'e')}; }
fn ld_${inp.name}(idx: array<u32, ${R}>) -> ${ct} { return at_${inp.name}(off_${inp.name}(idx)); }`;
  }).join('\n');
  const vals = Array.from({ length: pack }, (_, k) => `v[${k}]`);
  const code = `
${PARAMS_DECL}
${decls.join('\n')}
${DTYPE_HELPERS}
${LINEAR_WG}
fn shape(d: u32) -> u32 { return P[${layout.shapeAt} + d]; }
${scalarsAndUnravel(R, layout)}
${accessors}
${spec.helpers ?? ''}
fn compute(idx: array<u32, ${R}>) -> ${T} {
${spec.body}
}
@compute @workgroup_size(${MAP_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = linearWorkgroup(wid, nwg) * ${MAP_WORKGROUP}u + lid;
  let n = P[0];
  let first = t * ${pack}u;
  if (first >= n) { return; }
  var v: array<${T}, ${pack}>;
  for (var k = 0u; k < ${pack}u; k++) {
    let e = first + k;
    if (e < n) { v[k] = compute(unravel(e)); }
  }
  ${storeWordStmt('out', spec.out, 't', vals)}
}`;
  return { label: spec.label, code };
}

/**
 * The f32 map kernel four elements at a time, for bodies that read their inputs only at the output's own
 * index (engine/ops/launch.ts isIndexFree): one invocation loads a vec4 of each input whose innermost stride
 * is 1 (`vec4` true) or one value of an input broadcast along the innermost dimension, and writes one vec4.
 * CPU drivers (lavapipe) run it ~4x faster than the scalar kernel: one 16-byte load instead of four gathers,
 * one index computation for four elements. The launcher guarantees: every tensor f32, the innermost
 * dimension a multiple of 4, vec4 inputs at offsets and outer strides that are multiples of 4.
 */
export function mapKernelVec4(spec: MapSpec & { vec4: boolean[] }): KernelSource {
  const R = spec.rank;
  const layout = mapParamsLayout(R, spec.inputs.length);
  const decls = spec.inputs.map((inp, i) => `@group(0) @binding(${i + 1}) var<storage, read> in_${inp.name}: array<${spec.vec4[i] ? 'vec4<f32>' : 'f32'}>;`);
  decls.push(`@group(0) @binding(${spec.inputs.length + 1}) var<storage, read_write> out: array<vec4<f32>>;`);
  const offsets = spec.inputs.map((inp, i) => {
    const base = layout.inputAt(i);
    const terms = Array.from({ length: R }, (_, d) => `idx[${d}] * P[${base + 1 + d}]`).join(' + ');
    return `fn off_${inp.name}(idx: array<u32, ${R}>) -> u32 { return P[${base}] + ${terms}; }`;
  }).join('\n');
  // The body's loads become the arguments of a scalar function applied to each of the four lanes.
  let body = spec.body;
  for (const inp of spec.inputs) body = body.split(`ld_${inp.name}(idx)`).join(`x_${inp.name}`);
  const args = spec.inputs.map((inp) => `x_${inp.name}: f32`).join(', ');
  const loads = spec.inputs.map((inp, i) => spec.vec4[i]
    ? `let v_${inp.name} = in_${inp.name}[off_${inp.name}(idx) / 4u];`
    : `let v_${inp.name} = vec4<f32>(in_${inp.name}[off_${inp.name}(idx)]);`).join('\n  ');
  const call = spec.inputs.map((inp) => `v_${inp.name}[c]`).join(', ');
  const code = `
${PARAMS_DECL}
${decls.join('\n')}
${DTYPE_HELPERS}
${LINEAR_WG}
${scalarsAndUnravel(R, layout)}
${offsets}
${spec.helpers ?? ''}
fn compute(${args}) -> f32 {
${body}
}
@compute @workgroup_size(${MAP_WORKGROUP / 4})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = linearWorkgroup(wid, nwg) * ${MAP_WORKGROUP / 4}u + lid;
  if (t * 4u >= P[0]) { return; }
  let idx = unravel(t * 4u);
  ${loads}
  var r: vec4<f32>;
  for (var c = 0u; c < 4u; c++) { r[c] = compute(${call}); }
  out[t] = r;
}`;
  return { label: `${spec.label}:v4`, code };
}
