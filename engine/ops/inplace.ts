// In-place ops: they write into an existing tensor's storage instead of making a new one. Not recorded
// by autograd (an in-place write would invalidate what earlier ops saved), so they refuse inputs that
// carry a gradient while gradients are on. The KV cache of the language model is their user.
import { Tensor, numel } from '../tensor.js';
import { isFloat, packFactor } from '../dtype.js';
import { isGradEnabled } from '../autograd.js';
import { normAxis } from './views.js';
import { writeSliceKernel, WRITE_WORKGROUP } from '../../kernels/inplace.js';
import { grid } from '../../kernels/kernel.js';
import { kernelFor } from '../kernel-cache.js';
import { ShapeError } from '../errors.js';

/**
 * dst[..., start : start + src.shape[axis], ...] = src (along `axis`), in place; returns dst.
 * src may be any strided view and any dtype of the same kind (floats are converted to dst's dtype,
 * 16-bit rounding to nearest even). dst may be a view whose last axis is contiguous; for 16-bit and u8
 * dst (several elements per 32-bit word) every row of dst must start on a word boundary (even row
 * length for 16-bit), so that no two invocations share a word. One dispatch, ordered with every other
 * op in the device's encoder.
 */
export function writeSlice(dst: Tensor, src: Tensor, axis: number, start: number): Tensor {
  dst.assertAlive('writeSlice'); src.assertAlive('writeSlice');
  const R = dst.rank;
  if (R === 0 || src.rank !== R) throw new ShapeError(`writeSlice: src [${src.shape}] and dst [${dst.shape}] must have the same rank >= 1`);
  const a = normAxis(axis, R, 'writeSlice');
  const len = src.shape[a];
  for (let d = 0; d < R; d++) {
    if (d !== a && src.shape[d] !== dst.shape[d]) throw new ShapeError(`writeSlice: src [${src.shape}] does not fit dst [${dst.shape}] outside axis ${a}`);
  }
  if (!Number.isInteger(start) || start < 0 || start + len > dst.shape[a]) {
    throw new ShapeError(`writeSlice: window [${start}, ${start + len}) on axis ${a} is outside dst [${dst.shape}]`);
  }
  if (isFloat(src.dtype) !== isFloat(dst.dtype)) throw new TypeError(`writeSlice: cannot write ${src.dtype} into ${dst.dtype}`);
  if (src.storage === dst.storage) throw new Error('writeSlice: src and dst share storage');
  if (isGradEnabled() && src.requiresGrad) {
    throw new Error('writeSlice: in-place writes are not differentiable; run it under noGrad() or detach the source');
  }
  if (dst.device !== src.device) throw new Error('writeSlice: tensors are on different devices');
  const n = numel(src.shape);
  if (n === 0) return dst;
  // Rows = all axes but the last (a leading 1 for vectors); the window's columns lie on the last axis.
  const lead = R === 1 ? [1] : src.shape.slice(0, -1);
  const dStr = R === 1 ? [0] : dst.strides.slice(0, -1);
  const sStr = R === 1 ? [0] : src.strides.slice(0, -1);
  let dstOffset = dst.offset;
  let colStart = 0, colLen = dst.shape[R - 1];
  if (a === R - 1) { colStart = start; colLen = len; } else dstOffset += start * dst.strides[a];
  const pack = packFactor(dst.dtype);
  let firstWord = colStart, words = colLen;
  if (pack > 1) {
    if (dst.strides[R - 1] !== 1 || dstOffset % pack !== 0 || dStr.some((s, d) => lead[d] > 1 && s % pack !== 0)) {
      throw new ShapeError(`writeSlice: ${dst.dtype} dst [${dst.shape}] (strides [${dst.strides}], offset ${dst.offset}) must have ` +
        `a contiguous last axis and rows starting on 32-bit words`);
    }
    firstWord = Math.floor(colStart / pack);
    words = Math.ceil((colStart + colLen) / pack) - firstWord;
  }
  const threads = numel(lead) * words;
  const kernel = kernelFor(writeSliceKernel, dst.dtype, src.dtype, lead.length);
  const params = [threads, words, firstWord, colStart, colLen, dstOffset, dst.strides[R - 1], src.offset, src.strides[R - 1],
    ...lead, ...dStr, ...sStr];
  dst.device.dispatch(kernel, Uint32Array.from(params), [{ buffer: src.storage.buffer }, { buffer: dst.storage.buffer }],
    grid(Math.ceil(threads / WRITE_WORKGROUP)));
  return dst;
}
