// Host-side element conversions between checkpoint dtypes and engine dtypes (CPU, one tensor at a time).
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, type DType } from '../../engine/dtype.js';
import { CheckpointFormatError, sourceItemSize, type SourceDType } from './dtypes.js';

export type HostArray = Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;

/** Decodes any float source dtype to f32 values. */
export function toFloat32(dtype: SourceDType, bytes: Uint8Array): Float32Array {
  const n = bytes.length / sourceItemSize(dtype);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32': return new Float32Array(bytes.slice().buffer);
    case 'F64': for (let i = 0; i < n; i++) out[i] = v.getFloat64(i * 8, true); return out;
    case 'F16': for (let i = 0; i < n; i++) out[i] = f16BitsToF32(v.getUint16(i * 2, true)); return out;
    case 'BF16': { const u = new Uint32Array(out.buffer); for (let i = 0; i < n; i++) u[i] = v.getUint16(i * 2, true) << 16; return out; }
    default: throw new CheckpointFormatError(`cannot convert ${dtype} to a float dtype`);
  }
}

const FLOATS = new Set<SourceDType>(['F64', 'F32', 'F16', 'BF16']);
export function isFloatSource(d: SourceDType): boolean { return FLOATS.has(d); }

/** Re-encodes float tensor bytes into another float source dtype (round to nearest even). */
export function convertFloatBytes(from: SourceDType, bytes: Uint8Array, to: 'F32' | 'F16' | 'BF16'): Uint8Array {
  if (from === to) return bytes;
  const f = toFloat32(from, bytes);
  if (to === 'F32') return new Uint8Array(f.buffer);
  const out = new Uint16Array(f.length);
  if (to === 'BF16') for (let i = 0; i < f.length; i++) out[i] = f32ToBf16Bits(f[i]);
  else for (let i = 0; i < f.length; i++) out[i] = f32ToF16Bits(f[i]);
  return new Uint8Array(out.buffer);
}

/** The engine dtype a source dtype loads as when none is asked for. */
export function defaultDType(d: SourceDType): DType {
  switch (d) {
    case 'F32': case 'F64': return 'f32';
    case 'F16': return 'f16';
    case 'BF16': return 'bf16';
    case 'I64': case 'I32': case 'I16': case 'I8': return 'i32';
    case 'U32': case 'U16': return 'u32';
    case 'U8': case 'BOOL': return 'u8';
    default: throw new CheckpointFormatError(`dtype ${d} cannot be loaded onto the device`);
  }
}

/**
 * Converts tensor bytes to the host array Tensor.fromHost takes for `to` (16-bit floats as raw bits).
 * Integers: I64 narrows to i32 with an overflow check; BOOL/U8 become u8. Floats convert between each other.
 */
export function toHostArray(from: SourceDType, bytes: Uint8Array, to: DType, name = 'tensor'): HostArray {
  const n = bytes.length / sourceItemSize(from);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isFloatSource(from)) {
    if (to === 'f32') return toFloat32(from, bytes);
    if (to === 'bf16' && from === 'BF16') return new Uint16Array(bytes.slice().buffer);
    if (to === 'f16' && from === 'F16') return new Uint16Array(bytes.slice().buffer);
    if (to === 'bf16' || to === 'f16') return new Uint16Array(convertFloatBytes(from, bytes, to === 'bf16' ? 'BF16' : 'F16').slice().buffer);
    throw new CheckpointFormatError(`${name}: cannot load ${from} as ${to}`);
  }
  const ints = (): number[] | Int32Array => {
    switch (from) {
      case 'I32': return new Int32Array(bytes.slice().buffer);
      case 'I16': { const o = new Int32Array(n); for (let i = 0; i < n; i++) o[i] = v.getInt16(i * 2, true); return o; }
      case 'I8': { const o = new Int32Array(n); for (let i = 0; i < n; i++) o[i] = v.getInt8(i); return o; }
      case 'U8': case 'BOOL': { const o = new Int32Array(n); for (let i = 0; i < n; i++) o[i] = bytes[i]; return o; }
      case 'U16': { const o = new Int32Array(n); for (let i = 0; i < n; i++) o[i] = v.getUint16(i * 2, true); return o; }
      case 'I64': case 'U64': case 'U32': {
        const o: number[] = new Array(n);
        for (let i = 0; i < n; i++) {
          const x = from === 'I64' ? v.getBigInt64(i * 8, true) : from === 'U64' ? v.getBigUint64(i * 8, true) : BigInt(v.getUint32(i * 4, true));
          const lo = to === 'u32' || to === 'u8' ? 0n : -(2n ** 31n), hi = to === 'u32' ? 2n ** 32n - 1n : to === 'u8' ? 255n : 2n ** 31n - 1n;
          if (x < lo || x > hi) throw new CheckpointFormatError(`${name}: element ${i} = ${x} does not fit in ${to}`);
          o[i] = Number(x);
        }
        return o;
      }
      default: throw new CheckpointFormatError(`${name}: cannot load ${from} as ${to}`);
    }
  };
  const vals = ints();
  const check = (lo: number, hi: number) => {
    for (let i = 0; i < vals.length; i++) if (vals[i] < lo || vals[i] > hi) throw new CheckpointFormatError(`${name}: element ${i} = ${vals[i]} does not fit in ${to}`);
  };
  switch (to) {
    case 'i32': return vals instanceof Int32Array ? vals : Int32Array.from(vals);
    case 'u32': check(0, 2 ** 32 - 1); return Uint32Array.from(vals);
    case 'u8': check(0, 255); return Uint8Array.from(vals);
    case 'f32': return Float32Array.from(vals);
    default: throw new CheckpointFormatError(`${name}: cannot load integer ${from} as ${to}`);
  }
}
