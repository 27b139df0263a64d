// Scatter-add into an f32 accumulator: one invocation per element of the index's iteration space; the
// value src[i] is added at dst[i with axis replaced by index[i]]. WGSL has no float atomics, so the add is
// a compare-exchange loop on the word's bits (atomic<u32> with bitcast<f32>). Indices outside
// [0, axisSize) are skipped, so the kernel never touches memory out of bounds.
import type { DType } from './dtype.js';
import type { KernelSource } from './kernel.js';
import { bufferDecl, loadF32 } from './wgsl.js';
import { threadKernel } from './skeletons.js';

export const SCATTER_WORKGROUP = 256;

/**
 * Params: [n, axis, axisSize, idxOffset, srcOffset, shape(R), idxStrides(R), srcStrides(R), dstStrides(R)].
 * Bindings: IDX (i32), SRC (srcDtype), ACC (f32 storage, accessed as atomic<u32>).
 */
export function scatterAddKernel(srcDtype: DType, rank: number): KernelSource {
  const R = rank;
  const W = SCATTER_WORKGROUP;
  const code = threadKernel({ W, count: 'P[0]', decls: [bufferDecl(1, 'IDX', 'i32', 'read'), bufferDecl(2, 'SRC', srcDtype, 'read'),
    '@group(0) @binding(3) var<storage, read_write> ACC: array<atomic<u32>>;'], body: `
  let axis = P[1];
  var e = t;
  var idxOff = P[3];
  var srcOff = P[4];
  var dstOff = 0u;
  for (var d = ${R - 1}; d >= 0; d--) {
    let ud = u32(d);
    let s = P[5u + ud];
    let i = e % s;
    e = e / s;
    idxOff += i * P[${5 + R}u + ud];
    srcOff += i * P[${5 + 2 * R}u + ud];
    if (ud != axis) { dstOff += i * P[${5 + 3 * R}u + ud]; }
  }
  let k = IDX[idxOff];
  if (k < 0 || u32(k) >= P[2]) { return; }
  dstOff += u32(k) * P[${5 + 3 * R}u + axis];
  let v = ${loadF32('SRC', srcDtype, 'srcOff')};
  var old = atomicLoad(&ACC[dstOff]);
  loop {
    let r = atomicCompareExchangeWeak(&ACC[dstOff], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }` });
  return { label: `scatter_add_${srcDtype}_r${R}`, code };
}
