// Optimizer kernels. A training step runs, per parameter, one "grad stats" dispatch (sum of squares and
// a non-finite flag, into a partials buffer), then one "finalize" dispatch for the whole step (global
// norm, clipping coefficient, loss-scale unscaling and update, inf/NaN skip, per-parameter step counts),
// then, per parameter, one fused update dispatch (AdamW or SGD, all the math of torch's single-tensor
// loop in one pass, f32 state, optional f32 master weights for 16-bit parameters). Nothing is read back:
// the step state lives in a small u32 buffer (STEP_STATE) that the update kernels read.
import type { DType } from '../engine/dtype.js';
import { packFactor } from '../engine/dtype.js';
import { PARAMS_DECL, LINEAR_WG, type KernelSource } from './kernel.js';
import { bufferDecl, loadExpr, storeWordStmt, DTYPE_HELPERS } from './wgsl.js';
import { workgroupReduceWGSL } from './workgroup-reduce.js';

export const OPTIM_WORKGROUP = 256;
/** 32-bit words of the parameter each update thread handles (launch: ceil(words / (256 * this)) workgroups). */
export const UPDATE_WORDS_PER_THREAD = 4;
/** Most workgroups a grad-stats dispatch uses (each thread strides over the rest). */
export const STATS_MAX_WORKGROUPS = 1024;

/**
 * Word layout of the step-state buffer (u32 words; f32 values stored as their bits):
 * foundInf (u32 0/1), invScale (f32), clipCoef (f32), norm (f32, of the unscaled gradients),
 * then one u32 step count per parameter.
 */
export const STEP_STATE = { foundInf: 0, invScale: 1, clipCoef: 2, norm: 3, steps: 4 } as const;

/** Bits of the finalize kernel's flags word. */
export const FINALIZE_FLAGS = { clip: 1, scaler: 2 } as const;

const IS_FINITE = /* wgsl */ `fn finite_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }`;

/**
 * Sum of squares and "some element is inf/NaN" of one gradient, as per-workgroup partials.
 * Params: [n, partialBase, elementOffset]. Bindings: G (grad, dtype), PART (f32, rw): workgroup w writes
 * PART[2 (base + w)] = its sum of squares, PART[2 (base + w) + 1] = 1.0 if it saw a non-finite value.
 * Each thread visits a fixed set of elements, so the result is deterministic for a given grid.
 */
export function gradStatsKernel(dtype: DType): KernelSource {
  const W = OPTIM_WORKGROUP;
  const code = `
${PARAMS_DECL}
${bufferDecl(1, 'G', dtype, 'read')}
@group(0) @binding(2) var<storage, read_write> PART: array<f32>;
${DTYPE_HELPERS}
${IS_FINITE}
${workgroupReduceWGSL(W)}
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = P[0];
  let stride = nwg.x * ${W}u;
  var s = 0.0;
  var bad = 0.0;
  for (var e = wid.x * ${W}u + lid; e < n; e += stride) {
    let x = ${loadExpr('G', dtype, 'P[2] + e')};
    if (finite_(x)) { s += x * x; } else { bad = 1.0; }
  }
  let total = wgSum(s, lid);
  let anyBad = wgMax(bad, lid);
  if (lid == 0u) {
    let slot = 2u * (P[1] + wid.x);
    PART[slot] = total;
    PART[slot + 1u] = anyBad;
  }
}`;
  return { label: `optim_grad_stats_${dtype}`, code };
}

/**
 * One workgroup closes a step. Params: [nPartials, flags, maxNorm (f32), growthFactor (f32),
 * backoffFactor (f32), growthInterval, nUpdated, index of each updated parameter...].
 * Bindings: PART (f32, read), ST (step state, u32 rw), SC (scaler state [scale f32 bits, growth tracker], rw).
 * Semantics: torch.nn.utils.clip_grad_norm_ (coef = min(maxNorm / (norm + 1e-6), 1)) on the gradients
 * unscaled by torch.cuda.amp.GradScaler (found inf/NaN: the step is skipped, the scale backs off; after
 * growthInterval clean steps it grows). Step counts of the updated parameters advance unless skipped.
 */
export function optimFinalizeKernel(): KernelSource {
  const W = OPTIM_WORKGROUP;
  const code = `
${PARAMS_DECL}
@group(0) @binding(1) var<storage, read> PART: array<f32>;
@group(0) @binding(2) var<storage, read_write> ST: array<u32>;
@group(0) @binding(3) var<storage, read_write> SC: array<u32>;
${DTYPE_HELPERS}
${IS_FINITE}
${workgroupReduceWGSL(W)}
@compute @workgroup_size(${W})
fn main(@builtin(local_invocation_index) lid: u32) {
  let np = P[0];
  let clip = (P[1] & ${FINALIZE_FLAGS.clip}u) != 0u;
  let useScaler = (P[1] & ${FINALIZE_FLAGS.scaler}u) != 0u;
  var s = 0.0;
  var bad = 0.0;
  for (var i = lid; i < np; i += ${W}u) { s += PART[2u * i]; bad = max(bad, PART[2u * i + 1u]); }
  let total = wgSum(s, lid);
  let anyBad = wgMax(bad, lid);
  let found = useScaler && anyBad > 0.0;
  if (lid == 0u) {
    var invScale = 1.0;
    if (useScaler) { invScale = 1.0 / bitcast<f32>(SC[0]); }
    var norm = sqrt(total) * invScale;
    if (anyBad > 0.0) { norm = nan_(); }
    var coef = 1.0;
    if (clip) { coef = min(bitcast<f32>(P[2]) / (norm + 1e-6), 1.0); }
    ST[${STEP_STATE.foundInf}] = select(0u, 1u, found);
    ST[${STEP_STATE.invScale}] = bitcast<u32>(invScale);
    ST[${STEP_STATE.clipCoef}] = bitcast<u32>(coef);
    ST[${STEP_STATE.norm}] = bitcast<u32>(norm);
    if (useScaler) {
      let scale = bitcast<f32>(SC[0]);
      if (found) {
        SC[0] = bitcast<u32>(scale * bitcast<f32>(P[4]));
        SC[1] = 0u;
      } else {
        let good = SC[1] + 1u;
        if (good == P[5]) {
          let grown = scale * bitcast<f32>(P[3]);
          if (finite_(grown)) { SC[0] = bitcast<u32>(grown); }
          SC[1] = 0u;
        } else {
          SC[1] = good;
        }
      }
    }
  }
  if (!found) {
    for (var k = lid; k < P[6]; k += ${W}u) {
      let slot = ${STEP_STATE.steps}u + P[7u + k];
      ST[slot] = ST[slot] + 1u;
    }
  }
}`;
  return { label: 'optim_finalize', code };
}

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

/** Shared head of the update kernels: thread -> word of the parameter, skip on inf, gradient multipliers. */
function updateKernel(label: string, dtype: DType, master: boolean, slots: string[], paramsDoc: string, prelude: string, perElement: string): KernelSource {
  const W = OPTIM_WORKGROUP;
  const pack = packFactor(dtype);
  const slotDecls = slots.map((s, i) => `@group(0) @binding(${4 + i}) var<storage, read_write> ${s}: array<f32>;`).join('\n');
  const masterDecl = master ? `@group(0) @binding(${4 + slots.length}) var<storage, read_write> MASTER: array<f32>;` : '';
  const vals = Array.from({ length: pack }, (_, k) => `v[${k}]`);
  // 16-bit parameters: one thread owns a whole 32-bit word; an element past the end keeps its old value.
  const code = `
${PARAMS_DECL}
@group(0) @binding(1) var<storage, read> ST: array<u32>;
${bufferDecl(2, 'G', dtype, 'read')}
${bufferDecl(3, 'PARAM', dtype, 'read_write')}
${slotDecls}
${masterDecl}
${DTYPE_HELPERS}
${LINEAR_WG}
${EXPM1}
// ${paramsDoc}
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = P[0];
  let words = (n + ${pack - 1}u) / ${pack}u;
  let tile = linearWorkgroup(wid, nwg) * ${W * UPDATE_WORDS_PER_THREAD}u;
  if (tile >= words) { return; }
  if (ST[${STEP_STATE.foundInf}] != 0u) { return; }
  let step = f32(ST[${STEP_STATE.steps}u + P[1]]);
  let gm1 = bitcast<f32>(ST[${STEP_STATE.invScale}]);
  let gm2 = bitcast<f32>(ST[${STEP_STATE.clipCoef}]);
  ${prelude}
  // Several words per thread amortise the per-step scalars; consecutive threads take consecutive words.
  for (var j = 0u; j < ${UPDATE_WORDS_PER_THREAD}u; j++) {
    let t = tile + j * ${W}u + lid;
    if (t >= words) { break; }
    var v: array<f32, ${pack}>;
    for (var k = 0u; k < ${pack}u; k++) {
      let e = t * ${pack}u + k;
      v[k] = ${loadExpr('PARAM', dtype, 'P[3] + e')};
      if (e >= n) { continue; }
      let g = (${loadExpr('G', dtype, 'P[2] + e')} * gm1) * gm2;
      var p = ${master ? 'MASTER[e]' : 'v[k]'};
      ${perElement}
      ${master ? 'MASTER[e] = p;' : ''}
      v[k] = p;
    }
    ${storeWordStmt('PARAM', dtype, `P[3] / ${pack}u + t`, vals)}
  }
}`;
  return { label, code };
}

/**
 * Fused AdamW (torch.optim.AdamW, single-tensor path, amsgrad off). Params: [n, paramIndex, gradOffset,
 * paramOffset, lr, 1 - lr wd, beta1, 1 - beta1, beta2, 1 - beta2, ln beta1, ln beta2, eps] (floats as f32
 * bits; the host computes the differences in float64 as Python does). Bindings: ST, G, PARAM, EXP_AVG,
 * EXP_AVG_SQ[, MASTER]. The parameter offset of 16-bit parameters must be even.
 */
export function adamwKernel(dtype: DType, master: boolean): KernelSource {
  const prelude = `
  let lr = bitcast<f32>(P[4]);
  let decay = bitcast<f32>(P[5]);
  let beta1 = bitcast<f32>(P[6]); let omb1 = bitcast<f32>(P[7]);
  let beta2 = bitcast<f32>(P[8]); let omb2 = bitcast<f32>(P[9]);
  let eps = bitcast<f32>(P[12]);
  let stepSize = lr / -expm1_(step * bitcast<f32>(P[10]));
  let bc2Sqrt = sqrt(-expm1_(step * bitcast<f32>(P[11])));`;
  const perElement = `
    p = p * decay;
    let m = EXP_AVG[e] * beta1 + g * omb1;
    let s = EXP_AVG_SQ[e] * beta2 + omb2 * g * g;
    EXP_AVG[e] = m;
    EXP_AVG_SQ[e] = s;
    p = p + (-stepSize) * m / (sqrt(s) / bc2Sqrt + eps);`;
  return updateKernel(`optim_adamw_${dtype}${master ? '_master' : ''}`, dtype, master, ['EXP_AVG', 'EXP_AVG_SQ'],
    'AdamW', prelude, perElement);
}

/**
 * Fused SGD (torch.optim.SGD: weight decay added to the gradient, momentum buffer initialised to the
 * first gradient, dampening, optional Nesterov). Params: [n, paramIndex, gradOffset, paramOffset, lr, wd,
 * momentum, 1 - dampening]. Bindings: ST, G, PARAM[, MOMENTUM_BUF][, MASTER].
 */
export function sgdKernel(dtype: DType, master: boolean, momentum: boolean, nesterov: boolean): KernelSource {
  const prelude = `
  let lr = bitcast<f32>(P[4]);
  let wd = bitcast<f32>(P[5]);
  let mom = bitcast<f32>(P[6]);
  let omd = bitcast<f32>(P[7]);`;
  const perElement = `
    var d = g;
    if (wd != 0.0) { d = d + wd * p; }
    ${momentum ? `
    var b = d;
    if (step > 1.0) { b = MOMENTUM_BUF[e] * mom + d * omd; }
    MOMENTUM_BUF[e] = b;
    ${nesterov ? 'd = d + mom * b;' : 'd = b;'}` : ''}
    p = p + (-lr) * d;`;
  return updateKernel(`optim_sgd_${dtype}${master ? '_master' : ''}${momentum ? '_mom' : ''}${nesterov ? '_nesterov' : ''}`,
    dtype, master, momentum ? ['MOMENTUM_BUF'] : [], 'SGD', prelude, perElement);
}
