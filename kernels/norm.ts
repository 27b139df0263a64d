// Fused single-pass layer norm and RMS norm over the last (flattened trailing) axis of a contiguous
// tensor: one workgroup per row, statistics combined in shared memory, f32 math whatever the storage.
// Forward kernels also write the row's mean and reciprocal std (f32) for the backward. Backward: a row
// kernel for dx and a column kernel for the weight/bias gradients (sums over rows, no atomics needed).
import type { DType } from './dtype.js';
import type { KernelSource } from './kernel.js';
import { bufferDecl, loadF32 as ld } from './wgsl.js';
import { rowKernel, threadKernel } from './skeletons.js';

const NORM_WORKGROUP = 64;
export const NORM_DW_WORKGROUP = 64;

export type NormKind = 'layer' | 'rms';

/** Rounds an f32 through a 16-bit dtype (RMSNorm casts the normalised value back before the weight). */
function roundThrough(dtype: DType, v: string): string {
  if (dtype === 'bf16') return `bf16_to_f32(f32_to_bf16(${v}), 0u)`;
  if (dtype === 'f16') return `f16_to_f32(f32_to_f16(${v}), 0u)`;
  return v;
}

/**
 * Forward. Params: [rows, D, eps(f32 bits), hasWeight, hasBias]. Bindings: X, W (wdtype), B (wdtype),
 * Y (f32), STATS (f32 [rows, 2]: mean (0 for rms), rstd).
 */
export function normForwardKernel(kind: NormKind, x: DType, w: DType): KernelSource {
  const W = NORM_WORKGROUP;
  const code = rowKernel({ W, decls: [bufferDecl(1, 'X', x, 'read'), bufferDecl(2, 'WT', w, 'read'), bufferDecl(3, 'BS', w, 'read'),
    bufferDecl(4, 'Y', 'f32', 'read_write'), bufferDecl(5, 'STATS', 'f32', 'read_write')], body: `
  let D = P[1];
  let eps = bitcast<f32>(P[2]);
  let base = r * D;
  var acc = 0.0;
  ${kind === 'layer' ? `for (var c = lid; c < D; c += ${W}u) { acc += ${ld('X', x, 'base + c')}; }
  let mu = wgSum(acc, lid) / f32(D);
  acc = 0.0;
  for (var c = lid; c < D; c += ${W}u) { let d = ${ld('X', x, 'base + c')} - mu; acc += d * d; }` : `let mu = 0.0;
  for (var c = lid; c < D; c += ${W}u) { let v = ${ld('X', x, 'base + c')}; acc += v * v; }`}
  let rstd = inverseSqrt(wgSum(acc, lid) / f32(D) + eps);
  for (var c = lid; c < D; c += ${W}u) {
    var v = ${kind === 'rms' ? roundThrough(x, `${ld('X', x, 'base + c')} * rstd`) : `(${ld('X', x, 'base + c')} - mu) * rstd`};
    if (P[3] == 1u) { v = v * ${ld('WT', w, 'c')}; }
    if (P[4] == 1u) { v = v + ${ld('BS', w, 'c')}; }
    Y[base + c] = v;
  }
  if (lid == 0u) { STATS[2u * r] = mu; STATS[2u * r + 1u] = rstd; }` });
  return { label: `${kind}norm_fwd_${x}_${w}`, code };
}

/**
 * Backward for dx. Params: [rows, D, _, hasWeight]. Bindings: X, G (gdtype), WT, STATS, DX (f32).
 * layer: dx = rstd * (dxh - mean(dxh) - xh * mean(dxh * xh)), dxh = g * w, xh = (x - mu) * rstd.
 * rms:   dx = rstd * (dxh - xh * mean(dxh * xh)), xh = x * rstd (the cast to x's dtype passes gradients through).
 */
export function normBackwardDxKernel(kind: NormKind, x: DType, g: DType, w: DType): KernelSource {
  const W = NORM_WORKGROUP;
  const code = rowKernel({ W, decls: [bufferDecl(1, 'X', x, 'read'), bufferDecl(2, 'G', g, 'read'), bufferDecl(3, 'WT', w, 'read'),
    bufferDecl(4, 'STATS', 'f32', 'read'), bufferDecl(5, 'DX', 'f32', 'read_write')], helpers: `
fn dxh(base: u32, c: u32) -> f32 {
  var v = ${ld('G', g, 'base + c')};
  if (P[3] == 1u) { v = v * ${ld('WT', w, 'c')}; }
  return v;
}`, body: `
  let D = P[1];
  let base = r * D;
  let mu = STATS[2u * r];
  let rstd = STATS[2u * r + 1u];
  var a = 0.0;
  for (var c = lid; c < D; c += ${W}u) { a += dxh(base, c) * (${ld('X', x, 'base + c')} - mu) * rstd; }
  let meanDxhXh = wgSum(a, lid) / f32(D);
  ${kind === 'layer' ? `var b = 0.0;
  for (var c = lid; c < D; c += ${W}u) { b += dxh(base, c); }
  let meanDxh = wgSum(b, lid) / f32(D);` : 'let meanDxh = 0.0;'}
  for (var c = lid; c < D; c += ${W}u) {
    let xh = (${ld('X', x, 'base + c')} - mu) * rstd;
    DX[base + c] = rstd * (dxh(base, c) - meanDxh - xh * meanDxhXh);
  }` });
  return { label: `${kind}norm_bwd_dx_${x}_${g}_${w}`, code };
}

/**
 * Weight/bias gradients: one invocation per column c sums over rows (reads are coalesced across
 * invocations). Params: [rows, D]. Bindings: X, G, STATS, DWB (f32 [2, D]: dw then db).
 * dw = sum g * xh (rms: xh rounded through x's dtype, as the forward multiplied that), db = sum g.
 */
export function normBackwardDwKernel(kind: NormKind, x: DType, g: DType): KernelSource {
  const code = threadKernel({ W: NORM_DW_WORKGROUP, count: 'P[1]', decls: [bufferDecl(1, 'X', x, 'read'), bufferDecl(2, 'G', g, 'read'),
    bufferDecl(3, 'STATS', 'f32', 'read'), bufferDecl(4, 'DWB', 'f32', 'read_write')], body: `
  let c = t;
  let rows = P[0];
  let D = P[1];
  var dw = 0.0;
  var db = 0.0;
  for (var r = 0u; r < rows; r++) {
    let gv = ${ld('G', g, 'r * D + c')};
    let xh = ${kind === 'rms' ? roundThrough(x, `${ld('X', x, 'r * D + c')} * STATS[2u * r + 1u]`) : `(${ld('X', x, 'r * D + c')} - STATS[2u * r]) * STATS[2u * r + 1u]`};
    dw += gv * xh;
    db += gv;
  }
  DWB[c] = dw;
  DWB[D + c] = db;` });
  return { label: `${kind}norm_bwd_dw_${x}_${g}`, code };
}
