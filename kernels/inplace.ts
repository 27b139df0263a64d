// In-place writes into an existing buffer: writeSlice copies a source tensor into a window of a
// destination (a KV cache written at the current length). One invocation owns one 32-bit word of the
// destination, so 16-bit and u8 destinations (several elements per word) are written without races:
// a word the window covers only partly is read, its other elements kept, and written back whole.
import type { DType } from './dtype.js';
import { packFactor } from './dtype.js';
import type { KernelSource } from './kernel.js';
import { bufferDecl, computeType, convertExpr, loadExpr } from './wgsl.js';
import { threadKernel } from './skeletons.js';

export const WRITE_WORKGROUP = 256;

/**
 * Parameter block: [threads, wordsPerRow, firstWord, colStart, colLen, dstOffset, dstLastStride, srcOffset,
 * srcLastStride, leadShape[L], dstLeadStrides[L], srcLeadStrides[L]] with L = leadRank (rows = the
 * leading axes, columns = the last axis; every offset and stride in elements).
 */
export function writeSliceKernel(dst: DType, src: DType, leadRank: number): KernelSource {
  const L = leadRank;
  const pack = packFactor(dst);
  const ct = computeType(dst);
  const srcVal = (e: string) => convertExpr(loadExpr('src', src, e), computeType(src), ct);
  const bits = 32 / pack;
  const encode = (v: string) => dst === 'bf16' ? `f32_to_bf16(${v})` : dst === 'f16' ? `f32_to_f16(${v})` : `(${v} & 0xffu)`;
  const body = pack === 1
    ? `let j = colStart + w;
  dst[dstBase + j * P[6]] = ${srcVal('srcBase + w * P[8]')};`
    : `let word = dstBase / ${pack}u + firstWord + w;
  var out = 0u;
  var fresh = 0u;
  for (var k = 0u; k < ${pack}u; k++) {
    let j = (firstWord + w) * ${pack}u + k;
    if (j >= colStart && j < colStart + colLen) {
      out = out | (${encode(srcVal('srcBase + (j - colStart) * P[8]'))} << (k * ${bits}u));
      fresh = fresh | (${(2 ** bits - 1) >>> 0}u << (k * ${bits}u));
    }
  }
  if (fresh != 0xffffffffu) { out = out | (dst[word] & ~fresh); }
  dst[word] = out;`;
  const code = threadKernel({ W: WRITE_WORKGROUP, count: 'P[0]', decls: [bufferDecl(1, 'src', src, 'read'), bufferDecl(2, 'dst', dst, 'read_write')], body: `
  let nW = P[1];
  let firstWord = P[2];
  let colStart = P[3];
  let colLen = P[4];
  var r = t / nW;
  let w = t % nW;
  var dstBase = P[5];
  var srcBase = P[7];
  for (var d = ${L - 1}; d >= 0; d--) {
    let s = P[9u + u32(d)];
    let i = r % s;
    r = r / s;
    dstBase += i * P[${9 + L}u + u32(d)];
    srcBase += i * P[${9 + 2 * L}u + u32(d)];
  }
  ${body}` });
  return { label: `write_slice_${src}_to_${dst}`, code };
}
