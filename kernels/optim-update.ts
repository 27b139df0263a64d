// Fused multi-tensor optimizer updates: one dispatch updates k parameters (each bound to its own
// binding, so parameters and gradients stay where the model keeps them), reading per-parameter scalars
// from the parameter block and f32 state from flat buckets shared by all parameters of a dtype
// (optimizer-owned: exp_avg, exp_avg_sq / momentum buffer, f32 master weights of 16-bit parameters).
// All the math of torch's single-tensor loop runs in one pass; a step flagged as skipped (inf/NaN with
// loss scaling) returns before writing anything.
import type { DType } from './dtype.js';
import { packFactor } from './dtype.js';
import { PARAMS_DECL, LINEAR_WG, type KernelSource } from './kernel.js';
import { bufferDecl, loadExpr, storeWordStmt, DTYPE_HELPERS } from './wgsl.js';
import { OPTIM_WORKGROUP, STEP_STATE } from './optim.js';

export type UpdateRule = 'adamw' | 'sgd';

/** 32-bit words of a parameter each thread handles (a workgroup covers 256 * this words: one tile). */
export const UPDATE_WORDS_PER_THREAD = 4;
export const UPDATE_TILE_WORDS = OPTIM_WORKGROUP * UPDATE_WORDS_PER_THREAD;

/** Words per parameter in the parameter block: [n, index, gradOffset, paramOffset, stateOffset, 0, rule scalars...]. */
export const PARAM_HEADER = 6;
/**
 * Rule scalars (f32 bits unless noted). adamw: lr, 1 - lr wd, beta1, 1 - beta1, beta2, 1 - beta2, ln beta1,
 * ln beta2, eps (differences computed on the host in float64, as Python does). sgd: lr, wd, momentum,
 * 1 - dampening, hasMomentum (u32), nesterov (u32).
 */
export const RULE_SCALARS: Record<UpdateRule, number> = { adamw: 9, sgd: 6 };

// expm1 by Kahan's trick: accurate for the bias corrections 1 - beta^t = -expm1(t ln beta) even where
// beta^t is close to 1 (ln beta comes from the host in float64, rounded once).
const EXPM1 = /* wgsl */ `
fn expm1_(x: f32) -> f32 {
  let u = exp(x);
  if (u == 1.0) { return x; }
  let um1 = u - 1.0;
  if (um1 == -1.0) { return -1.0; }
  return um1 * x / log(u);
}`;

function rulePrelude(rule: UpdateRule): string {
  const f = (i: number) => `bitcast<f32>(P[sb + ${i}u])`;
  return rule === 'adamw' ? `
  let lr = ${f(0)}; let decay = ${f(1)};
  let beta1 = ${f(2)}; let omb1 = ${f(3)}; let beta2 = ${f(4)}; let omb2 = ${f(5)};
  let eps = ${f(8)};
  let stepSize = lr / -expm1_(step * ${f(6)});
  let bc2Sqrt = sqrt(-expm1_(step * ${f(7)}));` : `
  let lr = ${f(0)}; let wd = ${f(1)}; let mom = ${f(2)}; let omd = ${f(3)};
  let hasMom = P[sb + 4u] != 0u; let nesterov = P[sb + 5u] != 0u;`;
}

function ruleBody(rule: UpdateRule, slots: number): string {
  if (rule === 'adamw') return `
        p = p * decay;
        let m = S0[so + e] * beta1 + g * omb1;
        let s = S1[so + e] * beta2 + omb2 * g * g;
        S0[so + e] = m;
        S1[so + e] = s;
        p = p + (-stepSize) * m / (sqrt(s) / bc2Sqrt + eps);`;
  return `
        var d = g;
        if (wd != 0.0) { d = d + wd * p; }
        ${slots > 0 ? `if (hasMom) {
          var b = d;
          if (step > 1.0) { b = S0[so + e] * mom + d * omd; }
          S0[so + e] = b;
          if (nesterov) { d = d + mom * b; } else { d = b; }
        }` : ''}
        p = p + (-lr) * d;`;
}

/**
 * Update of k parameters of one dtype. Params: [tileStart_0 .. tileStart_k], then per parameter
 * PARAM_HEADER + RULE_SCALARS[rule] words. Bindings: ST (step state), S0..S{slots-1} (f32 state
 * buckets), MASTER (if master), then PARAM_j (rw), G_j (read) for each parameter j. 16-bit parameters must
 * start at even element offsets (a thread owns whole 32-bit words; a pad half past the end is kept).
 */
export function multiUpdateKernel(rule: UpdateRule, dtype: DType, master: boolean, slots: number, k: number): KernelSource {
  const W = OPTIM_WORKGROUP;
  const pack = packFactor(dtype);
  const R = PARAM_HEADER + RULE_SCALARS[rule];
  let binding = 2;
  const decls: string[] = [];
  for (let i = 0; i < slots; i++) decls.push(`@group(0) @binding(${binding++}) var<storage, read_write> S${i}: array<f32>;`);
  if (master) decls.push(`@group(0) @binding(${binding++}) var<storage, read_write> MASTER: array<f32>;`);
  for (let j = 0; j < k; j++) {
    decls.push(bufferDecl(binding++, `PARAM${j}`, dtype, 'read_write'));
    decls.push(bufferDecl(binding++, `G${j}`, dtype, 'read'));
  }
  const vals = Array.from({ length: pack }, (_, q) => `v[${q}]`);
  const cases = Array.from({ length: k }, (_, j) => `
    case ${j}u: {
      for (var r = 0u; r < ${UPDATE_WORDS_PER_THREAD}u; r++) {
        let t = tile + r * ${W}u + lid;
        if (t >= words) { break; }
        var v: array<f32, ${pack}>;
        for (var q = 0u; q < ${pack}u; q++) {
          let e = t * ${pack}u + q;
          v[q] = ${loadExpr(`PARAM${j}`, dtype, 'po + e')};
          if (e >= n) { continue; }
          let g = (${loadExpr(`G${j}`, dtype, 'go + e')} * gm1) * gm2;
          var p = ${master ? 'MASTER[so + e]' : 'v[q]'};${ruleBody(rule, slots)}
          ${master ? 'MASTER[so + e] = p;' : ''}
          v[q] = p;
        }
        ${storeWordStmt(`PARAM${j}`, dtype, `po / ${pack}u + t`, vals)}
      }
    }`).join('');
  const code = `
${PARAMS_DECL}
@group(0) @binding(1) var<storage, read> ST: array<u32>;
${decls.join('\n')}
${DTYPE_HELPERS}
${LINEAR_WG}
${EXPM1}
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let w = linearWorkgroup(wid, nwg);
  if (w >= P[${k}]) { return; }
  if (ST[${STEP_STATE.foundInf}] != 0u) { return; }
  var j = 0u;
  for (var q = 1u; q < ${k}u; q++) { if (w >= P[q]) { j = q; } }
  let b = ${k + 1}u + j * ${R}u;
  let sb = b + ${PARAM_HEADER}u;
  let n = P[b];
  let words = (n + ${pack - 1}u) / ${pack}u;
  let go = P[b + 2u];
  let po = P[b + 3u];
  let so = P[b + 4u];
  let tile = (w - P[j]) * ${UPDATE_TILE_WORDS}u;
  let step = f32(ST[${STEP_STATE.steps}u + P[b + 1u]]);
  let gm1 = bitcast<f32>(ST[${STEP_STATE.invScale}]);
  let gm2 = bitcast<f32>(ST[${STEP_STATE.clipCoef}]);
  ${rulePrelude(rule)}
  switch (j) {${cases}
    default: {}
  }
}`;
  return { label: `optim_${rule}_${dtype}${master ? '_master' : ''}_s${slots}_x${k}`, code };
}
