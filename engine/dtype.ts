// Data types of tensors and how they are stored on the GPU.
// 16-bit types (f16, bf16) are stored as halves packed two to a u32 word, u8 four to a word, so
// every storage buffer is an array<u32>/array<f32>/array<i32> and no kernel needs shader-f16.
// Kernels widen to f32 on load and round to nearest-even on store.

export type DType = 'f32' | 'f16' | 'bf16' | 'i32' | 'u32' | 'u8';
export const DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'i32', 'u32', 'u8'];

export type TypedArrayFor<D extends DType> =
  D extends 'f32' ? Float32Array : D extends 'i32' ? Int32Array : D extends 'u32' ? Uint32Array :
  D extends 'u8' ? Uint8Array : Uint16Array;

/** Bytes per element in storage. */
export function itemSize(dtype: DType): number {
  switch (dtype) {
    case 'f32': case 'i32': case 'u32': return 4;
    case 'f16': case 'bf16': return 2;
    case 'u8': return 1;
  }
}

/** Elements packed in one 32-bit storage word. */
export function packFactor(dtype: DType): number { return 4 / itemSize(dtype); }

/** Storage bytes for n elements, rounded up to whole 32-bit words. */
export function storageBytes(dtype: DType, n: number): number {
  return Math.ceil(n / packFactor(dtype)) * 4;
}

export function isFloat(dtype: DType): boolean { return dtype === 'f32' || dtype === 'f16' || dtype === 'bf16'; }

export function assertDType(dtype: unknown, where: string): asserts dtype is DType {
  if (!DTYPES.includes(dtype as DType)) {
    throw new TypeError(`${where}: unknown dtype ${JSON.stringify(dtype)}; expected one of ${DTYPES.join(', ')}`);
  }
}

// ---- scalar conversions on the CPU (used by uploads, readback and the CPU references) ----

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

/** f32 -> IEEE half bits, round to nearest even, with subnormals, overflow to inf, NaN kept. */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) { m = 0; e++; if (e >= 0x1f) return sign | 0x7c00; }
  }
  return sign | (e << 10) | m;
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
    case 'f16': return f16BitsToF32(f32ToF16Bits(x));
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
    case 'f16': { const o = new Uint16Array(n); for (let i = 0; i < n; i++) o[i] = f32ToF16Bits(values[i]); return o; }
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
