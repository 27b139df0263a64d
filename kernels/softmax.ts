// Row softmax / log-softmax and their backward rules: one workgroup per row, the row's max and sum
// combined in shared memory (as kernels/reduce.ts). A "row" is the softmax axis of a contiguous tensor
// seen as [outer, C, inner]: row r = (o, i) reads elements o*C*inner + c*inner + i, so any axis works
// without a transpose. Results are written as f32 (16-bit outputs are cast afterwards: threads of a row
// would otherwise share packed words).
import type { DType } from './dtype.js';
import type { KernelSource } from './kernel.js';
import { bufferDecl, loadF32 as ld } from './wgsl.js';
import { rowKernel } from './skeletons.js';

export type SoftmaxMode = 'softmax' | 'log_softmax' | 'softmax_backward' | 'log_softmax_backward';
const SOFTMAX_WORKGROUP = 64;

/**
 * Params: [nRows, C, inner]. Forward bindings: X (dtype), Y (f32). Backward bindings: Y (the forward's
 * output, dtype), G (gradient, gdtype), DX (f32).
 */
export function softmaxKernel(mode: SoftmaxMode, dtype: DType, gdtype: DType = dtype): KernelSource {
  const W = SOFTMAX_WORKGROUP;
  const backward = mode.endsWith('backward');
  const decls = backward
    ? [bufferDecl(1, 'Y', dtype, 'read'), bufferDecl(2, 'G', gdtype, 'read'), bufferDecl(3, 'DX', 'f32', 'read_write')]
    : [bufferDecl(1, 'X', dtype, 'read'), bufferDecl(2, 'Y', 'f32', 'read_write')];
  let body: string;
  if (!backward) {
    body = `
  var m = -inf_();
  for (var c = lid; c < C; c += ${W}u) { m = max(m, ${ld('X', dtype, 'at(c)')}); }
  m = wgMax(m, lid);
  // A row of -inf (fully masked) has no finite max: softmax gives NaN as in PyTorch.
  var acc = 0.0;
  for (var c = lid; c < C; c += ${W}u) { acc += exp(${ld('X', dtype, 'at(c)')} - m); }
  let total = wgSum(acc, lid);
  ${mode === 'softmax'
    ? `let inv = 1.0 / total;
  for (var c = lid; c < C; c += ${W}u) { Y[at(c)] = exp(${ld('X', dtype, 'at(c)')} - m) * inv; }`
    : `let lse = m + log(total);
  for (var c = lid; c < C; c += ${W}u) { Y[at(c)] = ${ld('X', dtype, 'at(c)')} - lse; }`}`;
  } else {
    // softmax: dx = y * (g - sum(g * y)); log_softmax: dx = g - exp(y) * sum(g).
    const term = mode === 'softmax_backward' ? `${ld('G', gdtype, 'at(c)')} * ${ld('Y', dtype, 'at(c)')}` : ld('G', gdtype, 'at(c)');
    const out = mode === 'softmax_backward'
      ? `${ld('Y', dtype, 'at(c)')} * (${ld('G', gdtype, 'at(c)')} - total)`
      : `${ld('G', gdtype, 'at(c)')} - exp(${ld('Y', dtype, 'at(c)')}) * total`;
    body = `
  var acc = 0.0;
  for (var c = lid; c < C; c += ${W}u) { acc += ${term}; }
  let total = wgSum(acc, lid);
  for (var c = lid; c < C; c += ${W}u) { DX[at(c)] = ${out}; }`;
  }
  const code = rowKernel({ W, decls, helpers: `
var<private> rowBase: u32;
var<private> inner: u32;
fn at(c: u32) -> u32 { return rowBase + c * inner; }`, body: `
  let C = P[1];
  inner = P[2];
  rowBase = (r / inner) * C * inner + r % inner;
${body}` });
  return { label: `${mode}_${dtype}${backward ? `_g${gdtype}` : ''}`, code };
}
