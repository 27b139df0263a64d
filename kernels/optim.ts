// Optimizer kernels. A training step runs "grad stats" dispatches (sums of squares and a non-finite flag
// into a partials buffer, several gradients per dispatch), one "finalize" dispatch for the whole step
// (global norm, clipping coefficient, loss-scale unscaling and update, inf/NaN skip, per-parameter step
// counts), then the fused multi-tensor updates (kernels/optim-update.ts). Nothing is read back: the step
// state lives in a small u32 buffer (STEP_STATE) that the update kernels read.
import type { DType } from './dtype.js';
import { packFactor } from './dtype.js';
import { PARAMS_DECL, LINEAR_WG, type KernelSource } from './kernel.js';
import { bufferDecl, loadExpr, storeWordStmt, DTYPE_HELPERS } from './wgsl.js';
import { workgroupReduceWGSL } from './workgroup-reduce.js';

export const OPTIM_WORKGROUP = 256;
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
 * Sums of squares and "some element is inf/NaN" of k gradients (bound at 2..k+1), as per-workgroup
 * partials. Params: [wgStart_0 .. wgStart_k] (cumulative workgroup counts), then per gradient
 * [n, partialBase, elementOffset, workgroups]. Workgroup w of gradient j writes PART[2 (base + w)] = its
 * sum of squares and PART[2 (base + w) + 1] = 1.0 if it saw a non-finite value. Each thread visits a fixed
 * set of elements, so the result is deterministic for a given launch.
 */
export function gradStatsKernel(dtype: DType, k: number): KernelSource {
  const W = OPTIM_WORKGROUP;
  const decls = Array.from({ length: k }, (_, j) => bufferDecl(2 + j, `G${j}`, dtype, 'read')).join('\n');
  const cases = Array.from({ length: k }, (_, j) => `
    case ${j}u: {
      for (var e = lw * ${W}u + lid; e < n; e += stride) {
        let x = ${loadExpr(`G${j}`, dtype, 'off + e')};
        if (finite_(x)) { s += x * x; } else { bad = 1.0; }
      }
    }`).join('');
  const code = `
${PARAMS_DECL}
@group(0) @binding(1) var<storage, read_write> PART: array<f32>;
${decls}
${DTYPE_HELPERS}
${LINEAR_WG}
${IS_FINITE}
${workgroupReduceWGSL(W)}
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let w = linearWorkgroup(wid, nwg);
  if (w >= P[${k}]) { return; }
  var j = 0u;
  for (var q = 1u; q < ${k}u; q++) { if (w >= P[q]) { j = q; } }
  let b = ${k + 1}u + j * 4u;
  let n = P[b];
  let off = P[b + 2u];
  let lw = w - P[j];
  let stride = P[b + 3u] * ${W}u;
  var s = 0.0;
  var bad = 0.0;
  switch (j) {${cases}
    default: {}
  }
  let total = wgSum(s, lid);
  let anyBad = wgMax(bad, lid);
  if (lid == 0u) {
    let slot = 2u * (P[b + 1u] + lw);
    PART[slot] = total;
    PART[slot + 1u] = anyBad;
  }
}`;
  return { label: `optim_grad_stats_${dtype}_x${k}`, code };
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

