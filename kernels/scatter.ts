// Scatter-add into an f32 accumulator: one invocation per element of the index's iteration space; the
// value src[i] is added at dst[i with axis replaced by index[i]]. Deterministic, so that training runs
// (embedding and gather gradients) repeat to the bit and resume exactly: of the elements that land on one
// destination (same coordinates off the axis, same index), only the first along the axis writes, summing
// the others in axis order. That costs a scan of the axis per element (n x axisLength reads of the index);
// float atomics would be cheaper but their order, and so the last bits, vary from run to run. Indices
// outside [0, axisSize) are skipped, so the kernel never touches memory out of bounds.
import type { DType } from './dtype.js';
import type { KernelSource } from './kernel.js';
import { bufferDecl, loadF32 } from './wgsl.js';
import { threadKernel } from './skeletons.js';

export const SCATTER_WORKGROUP = 256;

/**
 * Params: [n, axis, axisSize, idxOffset, srcOffset, shape(R), idxStrides(R), srcStrides(R), dstStrides(R)].
 * Bindings: IDX (i32), SRC (srcDtype), ACC (f32, read_write).
 */
export function scatterAddKernel(srcDtype: DType, rank: number): KernelSource {
  const R = rank;
  const W = SCATTER_WORKGROUP;
  const code = threadKernel({ W, count: 'P[0]', decls: [bufferDecl(1, 'IDX', 'i32', 'read'), bufferDecl(2, 'SRC', srcDtype, 'read'),
    '@group(0) @binding(3) var<storage, read_write> ACC: array<f32>;'], body: `
  let axis = P[1];
  var e = t;
  var idxOff = P[3];
  var srcOff = P[4];
  var dstOff = 0u;
  var ia = 0u;
  for (var d = ${R - 1}; d >= 0; d--) {
    let ud = u32(d);
    let s = P[5u + ud];
    let i = e % s;
    e = e / s;
    idxOff += i * P[${5 + R}u + ud];
    srcOff += i * P[${5 + 2 * R}u + ud];
    if (ud != axis) { dstOff += i * P[${5 + 3 * R}u + ud]; } else { ia = i; }
  }
  let k = IDX[idxOff];
  if (k < 0 || u32(k) >= P[2]) { return; }
  let n = P[5u + axis];
  let idxStep = P[${5 + R}u + axis];
  let srcStep = P[${5 + 2 * R}u + axis];
  let idx0 = idxOff - ia * idxStep;
  let src0 = srcOff - ia * srcStep;
  // Not the first element along the axis with this index: that one adds ours.
  for (var j = 0u; j < ia; j++) { if (IDX[idx0 + j * idxStep] == k) { return; } }
  var acc = 0.0;
  for (var j = ia; j < n; j++) {
    if (IDX[idx0 + j * idxStep] == k) { acc += ${loadF32('SRC', srcDtype, 'src0 + j * srcStep')}; }
  }
  dstOff += u32(k) * P[${5 + 3 * R}u + axis];
  ACC[dstOff] += acc;` });
  return { label: `scatter_add_${srcDtype}_r${R}`, code };
}
