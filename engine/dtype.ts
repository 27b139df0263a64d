// Data types: the storage vocabulary (kernels/dtype.ts, re-exported) and the host-side conversions
// used by uploads, readback and the CPU references. f16 rounding is @petamoriken/float16's (Float16Array
// for arrays, f16round for scalars; IEEE binary16, round to nearest even); bf16 has no library, so it is
// ours. Reading half bits back stays a three-line formula here: the library's getFloat16 and its
// Float16Array element reads measured ~5 us and ~1.6 us per element on Node 20 (vs ~0.3 us), too slow
// for checkpoint conversion.
import { Float16Array, f16round } from '@petamoriken/float16';
import type { DType } from '../kernels/dtype.js';

export { type DType, DTYPES, itemSize, packFactor, storageBytes, isFloat, assertDType } from '../kernels/dtype.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** f32 -> bf16 bits, round to nearest even; NaN stays a (quiet) NaN, infinities stay infinite. */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) return ((bits >>> 16) | 0x0040) & 0xffff;
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export function bf16BitsToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/**
 * f32 -> IEEE half bits, round to nearest even, with subnormals, overflow to inf, NaN kept. The value
 * is rounded to f32 first (as the GPU stores it), so a double never rounds twice differently.
 */
export function f32ToF16Bits(x: number): number {
  return exactHalfBits(f16round(Math.fround(x)));
}

/** The bits of a value that is exactly a half (or an infinity / NaN): no rounding left to do. */
function exactHalfBits(v: number): number {
  f32[0] = v;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000, e = (b >>> 23) & 0xff, m = b & 0x7fffff;
  if (e === 0xff) return sign | 0x7c00 | (m ? 0x200 : 0);
  if (e === 0) return sign;
  if (e < 113) return sign | ((m | 0x800000) >>> (126 - e)); // a half subnormal: units of 2^-24
  return sign | ((e - 112) << 10) | (m >>> 13);
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Rounds every value through the given float dtype (what storing then loading would give). */
export function roundTo(dtype: DType, x: number): number {
  switch (dtype) {
    case 'f32': return Math.fround(x);
    case 'bf16': return bf16BitsToF32(f32ToBf16Bits(x));
    case 'f16': return f16round(Math.fround(x));
    case 'i32': return Math.trunc(x) | 0;
    case 'u32': return Math.trunc(x) >>> 0;
    case 'u8': return Math.trunc(x) & 0xff;
  }
}

/** Converts numbers to the host representation of a dtype (16-bit floats as raw bits). */
export function encodeHost(dtype: DType, values: ArrayLike<number>): Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array {
  const n = values.length;
  switch (dtype) {
    case 'f32': return Float32Array.from(values);
    case 'i32': return Int32Array.from(values);
    case 'u32': return Uint32Array.from(values);
    case 'u8': return Uint8Array.from(values);
    case 'bf16': { const o = new Uint16Array(n); for (let i = 0; i < n; i++) o[i] = f32ToBf16Bits(values[i]); return o; }
    case 'f16': return new Uint16Array(new Float16Array(values instanceof Float32Array ? values : Float32Array.from(values)).buffer);
  }
}

/** Inverse of encodeHost: host representation to plain numbers (f32 for floats). */
export function decodeHost(dtype: DType, data: ArrayLike<number>): Float32Array | Int32Array | Uint32Array | Uint8Array {
  switch (dtype) {
    case 'f32': return data instanceof Float32Array ? data : Float32Array.from(data);
    case 'i32': return data instanceof Int32Array ? data : Int32Array.from(data);
    case 'u32': return data instanceof Uint32Array ? data : Uint32Array.from(data);
    case 'u8': return data instanceof Uint8Array ? data : Uint8Array.from(data);
    case 'bf16': { const o = new Float32Array(data.length); for (let i = 0; i < o.length; i++) o[i] = bf16BitsToF32(data[i]); return o; }
    case 'f16': { const o = new Float32Array(data.length); for (let i = 0; i < o.length; i++) o[i] = f16BitsToF32(data[i]); return o; }
  }
}
