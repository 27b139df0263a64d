// WGSL snippets for typed storage: every tensor is bound as a flat array of 32-bit words; 16-bit floats
// are widened to f32 on load and rounded to nearest-even on store, u8 is unpacked from bytes.
import type { DType } from './dtype.js';

/** A WGSL scalar type kernels compute in. */
export type ComputeType = 'f32' | 'i32' | 'u32';

/** The WGSL scalar a dtype computes in. */
export function computeType(dtype: DType): ComputeType {
  switch (dtype) {
    case 'f32': case 'f16': case 'bf16': return 'f32';
    case 'i32': return 'i32';
    case 'u32': case 'u8': return 'u32';
  }
}

/** The WGSL element type of the storage array for a dtype. */
function storageType(dtype: DType): 'f32' | 'i32' | 'u32' {
  return dtype === 'f32' ? 'f32' : dtype === 'i32' ? 'i32' : 'u32';
}

export function bufferDecl(binding: number, name: string, dtype: DType, access: 'read' | 'read_write'): string {
  return `@group(0) @binding(${binding}) var<storage, ${access}> ${name}: array<${storageType(dtype)}>;`;
}

/** Expression loading element `e` (a u32 expression) of array `arr` as the dtype's compute type. */
export function loadExpr(arr: string, dtype: DType, e: string): string {
  switch (dtype) {
    case 'f32': case 'i32': case 'u32': return `${arr}[${e}]`;
    case 'bf16': return `bf16_to_f32(${arr}[(${e}) >> 1u], (${e}) & 1u)`;
    case 'f16': return `f16_to_f32(${arr}[(${e}) >> 1u], (${e}) & 1u)`;
    case 'u8': return `((${arr}[(${e}) >> 2u] >> (((${e}) & 3u) * 8u)) & 0xffu)`;
  }
}

/** Converts an expression of compute type `from` to compute type `to` (float -> int truncates). */
export function convertExpr(expr: string, from: ComputeType, to: ComputeType): string {
  if (from === to) return expr;
  if (to === 'u32' && from === 'f32') return `u32(max(${expr}, 0.0))`;
  return `${to}(${expr})`;
}

/** Helper functions every kernel may use (unused ones are dropped by the compiler). */
export const DTYPE_HELPERS = /* wgsl */ `
// NaN and infinity cannot be WGSL constant expressions; a var makes them runtime values.
fn nan_() -> f32 { var u = 0x7fc00000u; return bitcast<f32>(u); }
fn inf_() -> f32 { var u = 0x7f800000u; return bitcast<f32>(u); }
// NaN tested on the bits: compilers may assume finite math and fold x != x to false.
fn isnan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn bf16_to_f32(w: u32, hi: u32) -> f32 { return bitcast<f32>(select(w << 16u, w & 0xffff0000u, hi == 1u)); }
fn f32_to_bf16(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu) != 0u) { return ((b >> 16u) | 0x40u) & 0xffffu; }
  return ((b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u) & 0xffffu;
}
fn f16_to_f32(w: u32, hi: u32) -> f32 { return unpack2x16float(select(w, w >> 16u, hi == 1u) & 0xffffu).x; }
// f32 -> IEEE half, round to nearest even, in integer math (pack2x16float's rounding is unspecified).
fn f32_to_f16(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let sign = (b >> 16u) & 0x8000u;
  let ex = i32((b >> 23u) & 0xffu);
  var mant = b & 0x7fffffu;
  if (ex == 255) { return sign | 0x7c00u | select(0u, 0x200u, mant != 0u); }
  var e = ex - 112;
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    mant = mant | 0x800000u;
    let shift = u32(14 - e);
    let half = 1u << (shift - 1u);
    var m = mant >> shift;
    let rest = mant & ((1u << shift) - 1u);
    if (rest > half || (rest == half && (m & 1u) == 1u)) { m = m + 1u; }
    return sign | m;
  }
  var m = mant >> 13u;
  let rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (m & 1u) == 1u)) {
    m = m + 1u;
    if (m == 0x400u) { m = 0u; e = e + 1; if (e >= 31) { return sign | 0x7c00u; } }
  }
  return sign | (u32(e) << 10u) | m;
}
`;

/**
 * Statements that store the computed values `v[0..pack)` (compute type) into word `w` of `out`.
 * 16-bit outputs pack two values per word and u8 four, so each thread owns whole words.
 */
export function storeWordStmt(out: string, dtype: DType, w: string, vals: string[]): string {
  switch (dtype) {
    case 'f32': case 'i32': case 'u32': return `${out}[${w}] = ${vals[0]};`;
    case 'bf16': return `${out}[${w}] = f32_to_bf16(${vals[0]}) | (f32_to_bf16(${vals[1]}) << 16u);`;
    case 'f16': return `${out}[${w}] = f32_to_f16(${vals[0]}) | (f32_to_f16(${vals[1]}) << 16u);`;
    case 'u8': return `${out}[${w}] = (${vals[0]} & 0xffu) | ((${vals[1]} & 0xffu) << 8u) | ((${vals[2]} & 0xffu) << 16u) | ((${vals[3]} & 0xffu) << 24u);`;
  }
}


/** Expression loading element `e` of `arr` widened to f32 (integers converted). */
export function loadF32(arr: string, dtype: DType, e: string): string {
  return computeType(dtype) === 'f32' ? loadExpr(arr, dtype, e) : `f32(${loadExpr(arr, dtype, e)})`;
}
