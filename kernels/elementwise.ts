// Bodies of the elementwise map kernels (kernels/map.ts): pointwise functions of one tensor (the table in
// kernels/activations.ts), of two broadcast tensors or a tensor and a scalar, fused expressions over
// named inputs (the backward rules: g times a local derivative), clamp, where and fill. Everything
// computes in the output's compute type (f32 for every float dtype).
import type { DType } from './dtype.js';
import { computeType, type ComputeType } from './wgsl.js';
import { MATH_WGSL, UNARY, type PointwiseDef } from './activations.js';
import type { MapBody, MapInput } from './map.js';

export { UNARY, type PointwiseDef };

export interface BinaryDef { fwd: string; /** d/da and d/db in a, b, y */ da?: string; db?: string; compare?: boolean }

export const BINARY: Record<string, BinaryDef> = {
  add: { fwd: 'a + b', da: '1.0', db: '1.0' },
  sub: { fwd: 'a - b', da: '1.0', db: '-1.0' },
  mul: { fwd: 'a * b', da: 'b', db: 'a' },
  div: { fwd: 'a / b', da: '1.0 / b', db: '-a / (b * b)' },
  pow: { fwd: 'pow_(a, b)', da: 'b * pow_(a, b - 1.0)', db: 'select(0.0, y * log(a), a > 0.0)' },
  maximum: { fwd: 'max(a, b)', da: 'select(select(0.0, 0.5, a == b), 1.0, a > b)', db: 'select(select(0.0, 0.5, a == b), 1.0, b > a)' },
  minimum: { fwd: 'min(a, b)', da: 'select(select(0.0, 0.5, a == b), 1.0, a < b)', db: 'select(select(0.0, 0.5, a == b), 1.0, b < a)' },
  eq: { fwd: 'a == b', compare: true }, ne: { fwd: 'a != b', compare: true },
  lt: { fwd: 'a < b', compare: true }, le: { fwd: 'a <= b', compare: true },
  gt: { fwd: 'a > b', compare: true }, ge: { fwd: 'a >= b', compare: true },
};

// WGSL's pow(a, b) is undefined for a < 0 and for a = 0 with b <= 0 (lavapipe gives 0 for 0^-1), so
// the cases follow PyTorch (C's pow, Annex F): x^0 = 1 and 1^y = 1 (even for NaN), 0^b = 0 (b > 0) or
// inf (b < 0) and (-inf)^b the reverse, negative for -0 / -inf with an odd integral b; a negative finite
// base needs an integral exponent (else NaN) and takes its sign from b's parity; an infinite exponent
// acts on |a| (|a| = 1 gives 1).
const POW_WGSL = /* wgsl */ `
fn odd_(b: f32) -> bool { return fract(0.5 * b) != 0.0; }
fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0 || a == 1.0) { return 1.0; }
  if (isnan_(a) || isnan_(b)) { return nan_(); }
  if (a > 0.0) { return pow(a, b); }
  // 0^b and (-inf)^b: a zero or an infinity, negative only for an odd integral b with a negative base.
  if (a == 0.0 || a == -inf_()) {
    let m = select(0.0, inf_(), (b < 0.0) == (a == 0.0));
    return select(m, -m, (bitcast<u32>(a) >> 31u) == 1u && fract(b) == 0.0 && odd_(b));
  }
  if (abs(b) == inf_()) { return select(pow(-a, b), 1.0, a == -1.0); }
  if (fract(b) != 0.0) { return nan_(); }
  let m = pow(-a, b);
  return select(m, -m, odd_(b));
}`;

/** Helpers every elementwise body may call. */
const ELEMENTWISE_HELPERS = MATH_WGSL + POW_WGSL;

/** The expression reading scalar k of the kernel's extra scalars as compute type ct. */
function scalarRead(ct: ComputeType, k: number): string {
  return ct === 'f32' ? `sc_f(${k})` : ct === 'i32' ? `sc_i(${k})` : `sc_u(${k})`;
}

/** `ld_NAME(idx)` converted to compute type ct. */
function loadAs(name: string, dtype: DType, ct: ComputeType): string {
  return computeType(dtype) === ct ? `ld_${name}(idx)` : `${ct}(ld_${name}(idx))`;
}

/** f32 result `r` returned as compute type ct. */
function fromF32(ct: ComputeType, r: string): string {
  return ct === 'f32' ? r : ct === 'u32' ? `u32(max(${r}, 0.0))` : `i32(${r})`;
}

/** An f32 expression over named inputs (each loaded as f32 under its own name), as a map body. */
export function fusedBody(label: string, expr: string, inputs: readonly MapInput[], out: DType): MapBody {
  const lets = inputs.map((i) => `let ${i.name} = ${loadAs(i.name, i.dtype, 'f32')};`).join(' ');
  return { label: `fused:${label}`, helpers: ELEMENTWISE_HELPERS,
    body: `${lets}\n  let r = ${expr};\n  return ${fromF32(computeType(out), 'r')};` };
}

/** g times a local derivative: the body of a backward rule (inputs g and the names the derivative uses). */
export function gradExpr(derivative: string): string { return `g * (${derivative})`; }

/** One pointwise function of x (input `x`), in x's dtype. Integer tensors have neg, abs and identity only. */
export function unaryBody(op: string, dtype: DType): MapBody {
  const def = UNARY[op];
  if (!def) throw new Error(`unknown unary op ${op}`);
  const ct = computeType(dtype);
  if (def.floatOnly && ct !== 'f32') throw new TypeError(`${op}: needs a floating tensor, got ${dtype}`);
  if (ct === 'f32') return { label: `unary:${op}`, body: `let x = ld_x(idx); return ${def.fwd};`, helpers: MATH_WGSL };
  if (op === 'neg' && ct === 'u32') throw new TypeError(`neg: unsigned tensor (${dtype})`);
  return { label: `unary:${op}`, body: op === 'neg' ? 'return -ld_x(idx);' : ct === 'i32' ? 'return abs(ld_x(idx));' : 'return ld_x(idx);' };
}

/** a OP b for tensors a and b (inputs `a`, `b`) computed in `dtype`'s compute type; comparisons give u8 0/1. */
export function binaryBody(op: string, a: DType, b: DType, dtype: DType): MapBody {
  const def = BINARY[op];
  if (!def) throw new Error(`unknown binary op ${op}`);
  const ct = computeType(dtype);
  if (!def.compare && ct !== 'f32' && op === 'pow') throw new TypeError('pow: needs floating tensors');
  const ret = def.compare ? `select(0u, 1u, ${def.fwd})` : def.fwd;
  return { label: `binary:${op}:${ct}`, helpers: POW_WGSL,
    body: `let a = ${loadAs('a', a, ct)}; let b = ${loadAs('b', b, ct)}; return ${ret};` };
}

/** a OP s or s OP a for a tensor (input `x`) and scalar 0, computed in `dtype`'s compute type. */
export function scalarBinaryBody(op: string, t: DType, dtype: DType, scalarFirst: boolean): MapBody {
  const def = BINARY[op];
  if (!def) throw new Error(`unknown binary op ${op}`);
  const ct = computeType(dtype);
  const sv = scalarRead(ct, 0), tv = loadAs('x', t, ct);
  const [av, bv] = scalarFirst ? [sv, tv] : [tv, sv];
  const ret = def.compare ? `select(0u, 1u, ${def.fwd})` : def.fwd;
  return { label: `scalar:${op}:${ct}:${scalarFirst ? 'sx' : 'xs'}`, helpers: POW_WGSL,
    body: `let a = ${av}; let b = ${bv}; return ${ret};` };
}

/** The derivative of a tensor-scalar op in the tensor (named `x`; the scalar is f32 scalar 0). */
export function scalarBinaryDerivative(op: string, scalarFirst: boolean): string {
  const def = BINARY[op];
  const d = scalarFirst ? def.db! : def.da!;
  const [a, b] = scalarFirst ? ['sc_f(0)', 'x'] : ['x', 'sc_f(0)'];
  return d.replace(/\ba\b/g, `(${a})`).replace(/\bb\b/g, `(${b})`);
}

/** clamp(x, scalar 0, scalar 1), and its gradient mask over `g`, `x`. */
export const CLAMP_BODY: MapBody = { label: 'clamp', body: 'return clamp(ld_x(idx), sc_f(0), sc_f(1));' };
export const CLAMP_GRAD = 'select(0.0, g, x >= sc_f(0) && x <= sc_f(1))';

/**
 * cond ? a : b (input `c` of dtype cond; `a` / `b` tensors when given, else scalars 0 / 1) in compute
 * type ct, and the gradient of either branch over `g`, `c`.
 */
export function whereBody(cond: DType, a: DType | null, b: DType | null, dtype: DType): MapBody {
  const ct = computeType(dtype);
  const av = a ? loadAs('a', a, ct) : scalarRead(ct, 0), bv = b ? loadAs('b', b, ct) : scalarRead(ct, 1);
  const cc = computeType(cond);
  const condTrue = `ld_c(idx) != ${cc === 'f32' ? '0.0' : cc === 'i32' ? '0' : '0u'}`;
  return { label: `where:${a ? 'T' : 'S'}${b ? 'T' : 'S'}`, body: `return select(${bv}, ${av}, ${condTrue});` };
}
export const whereGrad = (keepWhenTrue: boolean) => (keepWhenTrue ? 'select(0.0, g, c != 0.0)' : 'select(g, 0.0, c != 0.0)');

/** Every element = scalar 0 (as the dtype's compute type). */
export function fillBody(dtype: DType): MapBody {
  return { label: 'fill', body: `return ${scalarRead(computeType(dtype), 0)};` };
}

/** binary_cross_entropy_with_logits (x logits, y targets) in its stable form, and its two local gradients. */
export const BCE_WITH_LOGITS = { loss: 'max(x, 0.0) - x * y + log1p_(exp(-abs(x)))', dx: 'g * (sigmoid_(x) - y)', dy: '-g * x' };

/** start + i * step for element i (scalars: start (f32, or i32 for integer dtypes), step (f32)). */
export function arangeBody(dtype: DType): MapBody {
  const ct = computeType(dtype);
  return { label: 'arange', body: ct === 'f32' ? 'return sc_f(0) + f32(idx[0]) * sc_f(1);' : `return ${ct}(f32(sc_i(0)) + f32(idx[0]) * sc_f(1));` };
}
