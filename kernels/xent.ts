// Fused cross-entropy over class rows: the forward writes each row's negative log-likelihood and its
// logsumexp without materialising log-probabilities; the backward writes (softmax - onehot) * g per row.
import type { DType } from './dtype.js';
import type { KernelSource } from './kernel.js';
import { bufferDecl, loadF32 as ld } from './wgsl.js';
import { rowKernel, threadKernel } from './skeletons.js';

const XENT_WORKGROUP = 64;
export const XENT_BACKWARD_WORKGROUP = 256;

/** Whether row r's target t is ignored (P[2] = ignoreIndex as i32 bits) or outside [0, C). */
const IGNORED = 't == bitcast<i32>(P[2]) || t < 0 || u32(t) >= C';

/**
 * Params: [rows, C, ignoreIndex (i32 bits)]. Bindings: X (logits, dtype), T (i32 targets),
 * NLL (f32 [rows]), LSE (f32 [rows]). Ignored or out-of-range targets give 0.
 */
export function xentForwardKernel(dtype: DType): KernelSource {
  const W = XENT_WORKGROUP;
  const code = rowKernel({ W, decls: [bufferDecl(1, 'X', dtype, 'read'), bufferDecl(2, 'T', 'i32', 'read'),
    bufferDecl(3, 'NLL', 'f32', 'read_write'), bufferDecl(4, 'LSE', 'f32', 'read_write')], body: `
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
    if (${IGNORED}) { NLL[r] = 0.0; }
    else { NLL[r] = lse - ${ld('X', dtype, 'base + u32(t)')}; }
  }` });
  return { label: `xent_fwd_${dtype}`, code };
}

/**
 * Params: [rows, C, ignoreIndex]. Bindings: X, T, LSE, G (f32 [rows], gradient of each row's NLL),
 * DX (f32 [rows, C]). One invocation per element.
 */
export function xentBackwardKernel(dtype: DType): KernelSource {
  const code = threadKernel({ W: XENT_BACKWARD_WORKGROUP, count: 'P[0] * P[1]', decls: [bufferDecl(1, 'X', dtype, 'read'),
    bufferDecl(2, 'T', 'i32', 'read'), bufferDecl(3, 'LSE', 'f32', 'read'), bufferDecl(4, 'G', 'f32', 'read'),
    bufferDecl(5, 'DX', 'f32', 'read_write')], body: `
  let C = P[1];
  let r = t / C;
  let c = t % C;
  let tr = T[r];
  if (${IGNORED.replace(/\bt\b/g, 'tr')}) { DX[t] = 0.0; return; }
  let p = exp(${ld('X', dtype, 't')} - LSE[r]);
  DX[t] = G[r] * (p - select(0.0, 1.0, u32(tr) == c));` });
  return { label: `xent_bwd_${dtype}`, code };
}
