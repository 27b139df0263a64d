// Elementwise ops with broadcasting. Each op is one row of a table: its forward expression and the
// expression of its local derivative, both WGSL over f32 (micrograd's lesson: backward beside forward).
// Backward rules run as one fused kernel (g * dy/dx), then sum over broadcast axes.
import { Tensor } from '../tensor.js';
import type { DType } from '../dtype.js';
import { isFloat } from '../dtype.js';
import { record, noGrad } from '../autograd.js';
import { runMap, broadcastShapes, f32Bits } from './launch.js';
import { computeType } from '../../kernels/wgsl.js';
import { sumToShape } from './reduce.js';

/** WGSL helpers shared by the elementwise bodies. */
const MATH = /* wgsl */ `
// erf with |error| < 1.2e-7 (W. J. Cody's rational approximations are overkill here; this is
// Numerical Recipes' erfc Chebyshev fit, accurate over the whole real line).
fn erf_(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, x >= 0.0);
}
fn tanh_(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
fn sigmoid_(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn log1p_(x: f32) -> f32 { let u = 1.0 + x; return select(log(u) * x / (u - 1.0), x, u == 1.0); }
`;

interface UnaryDef { fwd: string; /** derivative in x (input), y (output) */ dydx?: string; floatOnly?: boolean }

const SQRT_2_PI = 0.7978845608028654;
export const UNARY: Record<string, UnaryDef> = {
  neg: { fwd: '-x', dydx: '-1.0' },
  abs: { fwd: 'abs(x)', dydx: 'sign(x)' },
  exp: { fwd: 'exp(x)', dydx: 'y', floatOnly: true },
  log: { fwd: 'log(x)', dydx: '1.0 / x', floatOnly: true },
  log1p: { fwd: 'log1p_(x)', dydx: '1.0 / (1.0 + x)', floatOnly: true },
  sqrt: { fwd: 'sqrt(x)', dydx: '0.5 / y', floatOnly: true },
  rsqrt: { fwd: 'inverseSqrt(x)', dydx: '-0.5 * y / x', floatOnly: true },
  relu: { fwd: 'max(x, 0.0)', dydx: 'select(0.0, 1.0, x > 0.0)', floatOnly: true },
  sigmoid: { fwd: 'sigmoid_(x)', dydx: 'y * (1.0 - y)', floatOnly: true },
  tanh: { fwd: 'tanh_(x)', dydx: '1.0 - y * y', floatOnly: true },
  silu: { fwd: 'x * sigmoid_(x)', dydx: 'sigmoid_(x) * (1.0 + x * (1.0 - sigmoid_(x)))', floatOnly: true },
  quick_gelu: { fwd: 'x * sigmoid_(1.702 * x)', dydx: 'sigmoid_(1.702 * x) * (1.0 + 1.702 * x * (1.0 - sigmoid_(1.702 * x)))', floatOnly: true },
  gelu: { fwd: '0.5 * x * (1.0 + erf_(x * 0.7071067811865476))',
    dydx: '0.5 * (1.0 + erf_(x * 0.7071067811865476)) + x * 0.3989422804014327 * exp(-0.5 * x * x)', floatOnly: true },
  gelu_tanh: { fwd: `0.5 * x * (1.0 + tanh_(${SQRT_2_PI} * (x + 0.044715 * x * x * x)))`,
    dydx: `0.5 * (1.0 + tanh_(${SQRT_2_PI} * (x + 0.044715 * x * x * x))) + 0.5 * x * (1.0 - tanh_(${SQRT_2_PI} * (x + 0.044715 * x * x * x)) * tanh_(${SQRT_2_PI} * (x + 0.044715 * x * x * x))) * ${SQRT_2_PI} * (1.0 + 0.134145 * x * x)`,
    floatOnly: true },
};

interface BinaryDef { fwd: string; da?: string; db?: string; compare?: boolean }

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

// pow with PyTorch's conventions for negative bases with integral exponents.
const POW = /* wgsl */ `
fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a >= 0.0) { return pow(a, b); }
  if (fract(b) != 0.0) { return nan_(); }
  let m = pow(-a, b);
  return select(m, -m, (i32(b) & 1) == 1);
}`;

/** Result dtype of an op on two dtypes (float beats int; mixed 16-bit floats widen to f32). */
export function promote(a: DType, b: DType): DType {
  if (a === b) return a;
  if (isFloat(a) && isFloat(b)) return 'f32';
  if (isFloat(a)) return a;
  if (isFloat(b)) return b;
  return 'i32';
}

type Operand = Tensor | number;

function scalarTensorLike(x: Operand): x is number { return typeof x === 'number'; }

/** A fused elementwise kernel over named tensors (broadcast to outShape), computing in f32. */
export function fusedMap(label: string, expr: string, inputs: Record<string, Tensor>, outShape: readonly number[], outDtype: DType,
  scalars: number[] = []): Tensor {
  const names = Object.keys(inputs);
  const lets = names.map((n) => {
    const ct = computeType(inputs[n].dtype);
    return `let ${n} = ${ct === 'f32' ? `ld_${n}(idx)` : `f32(ld_${n}(idx))`};`;
  }).join(' ');
  const out = computeType(outDtype);
  const body = `${lets}\n  let r = ${expr};\n  return ${out === 'f32' ? 'r' : out === 'u32' ? 'u32(max(r, 0.0))' : 'i32(r)'};`;
  return runMap({ label: `fused:${label}`, body, helpers: MATH + POW, outShape, outDtype,
    inputs: names.map((name) => ({ name, tensor: inputs[name] })), scalars: scalars.map(f32Bits) });
}

export function unary(op: keyof typeof UNARY, x: Tensor): Tensor {
  const def = UNARY[op];
  if (!def) throw new Error(`unknown unary op ${op}`);
  x.assertAlive(op);
  const ct = computeType(x.dtype);
  if (def.floatOnly && ct !== 'f32') throw new TypeError(`${op}: needs a floating tensor, got ${x.dtype}`);
  let out: Tensor;
  if (ct === 'f32') {
    out = runMap({ label: `unary:${op}`, body: `let x = ld_x(idx); return ${def.fwd};`, helpers: MATH,
      inputs: [{ name: 'x', tensor: x }], outShape: x.shape, outDtype: x.dtype });
  } else {
    const body = op === 'neg' ? 'return -ld_x(idx);' : ct === 'i32' ? 'return abs(ld_x(idx));' : 'return ld_x(idx);';
    if (op === 'neg' && ct === 'u32') throw new TypeError(`neg: unsigned tensor (${x.dtype})`);
    out = runMap({ label: `unary:${op}`, body, inputs: [{ name: 'x', tensor: x }], outShape: x.shape, outDtype: x.dtype });
  }
  if (!def.dydx) return out;
  return record(op, out, [x], (g, [xs, ys]) =>
    [fusedMap(`d${op}`, `g * (${def.dydx})`, { g, x: xs, y: ys }, xs.shape, xs.dtype)], [x, out]);
}

export function binary(op: keyof typeof BINARY, a: Operand, b: Operand): Tensor {
  const def = BINARY[op];
  if (!def) throw new Error(`unknown binary op ${op}`);
  if (scalarTensorLike(a) && scalarTensorLike(b)) throw new TypeError(`${op}: at least one operand must be a tensor`);
  if (scalarTensorLike(b)) return binaryScalar(op, a as Tensor, b, false);
  if (scalarTensorLike(a)) return binaryScalar(op, b, a, true);
  a.assertAlive(op); b.assertAlive(op);
  if (a.device !== b.device) throw new Error(`${op}: tensors are on different devices`);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const dt = promote(a.dtype, b.dtype);
  const ct = computeType(dt);
  const conv = (n: string, t: Tensor) => (computeType(t.dtype) === ct ? `ld_${n}(idx)` : `${ct}(ld_${n}(idx))`);
  const expr = def.fwd;
  const body = def.compare
    ? `let a = ${conv('a', a)}; let b = ${conv('b', b)}; return select(0u, 1u, ${expr});`
    : `let a = ${conv('a', a)}; let b = ${conv('b', b)}; return ${expr};`;
  if (!def.compare && ct !== 'f32' && op === 'pow') throw new TypeError(`pow: needs floating tensors`);
  const out = runMap({ label: `binary:${op}:${ct}`, body, helpers: POW, outShape: shape, outDtype: def.compare ? 'u8' : dt,
    inputs: [{ name: 'a', tensor: a }, { name: 'b', tensor: b }] });
  if (def.compare || !def.da) return out;
  return record(op, out, [a, b], (g, [as, bs, ys]) => {
    const grads: (Tensor | null)[] = [null, null];
    const pair: [Tensor, string][] = [[as, def.da!], [bs, def.db!]];
    pair.forEach(([t, d], i) => {
      if (![a, b][i].requiresGrad) return;
      const full = d === '1.0' ? g.retain() : fusedMap(`d${op}${i}`, `g * (${d})`, { g, a: as, b: bs, y: ys }, g.shape, t.dtype);
      grads[i] = sumToShape(full, t.shape);
      full.dispose();
    });
    return grads;
  }, [a, b, out]);
}

function binaryScalar(op: keyof typeof BINARY, t: Tensor, s: number, scalarFirst: boolean): Tensor {
  const def = BINARY[op];
  t.assertAlive(op);
  const ct = computeType(t.dtype);
  // A float scalar with an integer tensor gives a float result, as in PyTorch.
  const dt: DType = ct !== 'f32' && !Number.isInteger(s) ? 'f32' : t.dtype;
  const outCt = computeType(dt);
  const sv = outCt === 'f32' ? 'sc_f(0)' : outCt === 'i32' ? 'sc_i(0)' : 'sc_u(0)';
  const tv = computeType(t.dtype) === outCt ? 'ld_x(idx)' : `${outCt}(ld_x(idx))`;
  const [av, bv] = scalarFirst ? [sv, tv] : [tv, sv];
  const body = def.compare
    ? `let a = ${av}; let b = ${bv}; return select(0u, 1u, ${def.fwd});`
    : `let a = ${av}; let b = ${bv}; return ${def.fwd};`;
  const bits = outCt === 'f32' ? f32Bits(s) : outCt === 'i32' ? (s | 0) >>> 0 : s >>> 0;
  const out = runMap({ label: `scalar:${op}:${outCt}:${scalarFirst ? 'sx' : 'xs'}`, body, helpers: POW, outShape: t.shape,
    outDtype: def.compare ? 'u8' : dt, inputs: [{ name: 'x', tensor: t }], scalars: [bits] });
  if (def.compare || !def.da) return out;
  const d = scalarFirst ? def.db! : def.da!;
  const aName = scalarFirst ? 'sc_f(0)' : 'x';
  const bName = scalarFirst ? 'x' : 'sc_f(0)';
  return record(op, out, [t], (g, [xs, ys]) => [fusedMap(`d${op}s${scalarFirst ? 1 : 0}`,
    `g * (${d.replace(/\ba\b/g, `(${aName})`).replace(/\bb\b/g, `(${bName})`)})`, { g, x: xs, y: ys }, xs.shape, xs.dtype, [s])], [t, out]);
}

export const add = (a: Operand, b: Operand) => binary('add', a, b);
export const sub = (a: Operand, b: Operand) => binary('sub', a, b);
export const mul = (a: Operand, b: Operand) => binary('mul', a, b);
export const div = (a: Operand, b: Operand) => binary('div', a, b);
export const pow = (a: Operand, b: Operand) => binary('pow', a, b);
export const maximum = (a: Operand, b: Operand) => binary('maximum', a, b);
export const minimum = (a: Operand, b: Operand) => binary('minimum', a, b);
export const eq = (a: Operand, b: Operand) => binary('eq', a, b);
export const ne = (a: Operand, b: Operand) => binary('ne', a, b);
export const lt = (a: Operand, b: Operand) => binary('lt', a, b);
export const le = (a: Operand, b: Operand) => binary('le', a, b);
export const gt = (a: Operand, b: Operand) => binary('gt', a, b);
export const ge = (a: Operand, b: Operand) => binary('ge', a, b);
export const mulScalar = (a: Tensor, s: number) => binary('mul', a, s);

export const neg = (x: Tensor) => unary('neg', x);
export const abs = (x: Tensor) => unary('abs', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const log1p = (x: Tensor) => unary('log1p', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const rsqrt = (x: Tensor) => unary('rsqrt', x);
export const relu = (x: Tensor) => unary('relu', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const silu = (x: Tensor) => unary('silu', x);
export const quickGelu = (x: Tensor) => unary('quick_gelu', x);
/** GELU, exact erf form (approximate: 'tanh' for the tanh form). */
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none') => unary(approximate === 'tanh' ? 'gelu_tanh' : 'gelu', x);

/** Clamps to [lo, hi] (either bound may be omitted). The gradient passes where lo <= x <= hi. */
export function clamp(x: Tensor, lo?: number, hi?: number): Tensor {
  x.assertAlive('clamp');
  if (!isFloat(x.dtype)) throw new TypeError(`clamp: needs a floating tensor, got ${x.dtype}`);
  const l = lo ?? -Infinity, h = hi ?? Infinity;
  if (l > h) throw new RangeError(`clamp: lower bound ${l} is above upper bound ${h}`);
  const out = runMap({ label: 'clamp', body: 'return clamp(ld_x(idx), sc_f(0), sc_f(1));', inputs: [{ name: 'x', tensor: x }],
    outShape: x.shape, outDtype: x.dtype, scalars: [f32Bits(l), f32Bits(h)] });
  return record('clamp', out, [x], (g, [xs]) =>
    [fusedMap('dclamp', 'select(0.0, g, x >= sc_f(0) && x <= sc_f(1))', { g, x: xs }, xs.shape, xs.dtype, [l, h])], [x]);
}

/** cond ? a : b elementwise with broadcasting (cond: any dtype, nonzero = true). */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  cond.assertAlive('where');
  const ta = typeof a === 'number' ? null : a, tb = typeof b === 'number' ? null : b;
  const dt: DType = ta && tb ? promote(ta.dtype, tb.dtype) : (ta ?? tb)?.dtype ?? 'f32';
  const shape = broadcastShapes('where', cond.shape, ...(ta ? [ta.shape] : []), ...(tb ? [tb.shape] : []));
  const ct = computeType(dt);
  const inputs: Record<string, Tensor> = { c: cond };
  const val = (t: Tensor | null, n: string, k: number) => {
    if (t) { inputs[n] = t; return computeType(t.dtype) === ct ? `ld_${n}(idx)` : `${ct}(ld_${n}(idx))`; }
    return ct === 'f32' ? `sc_f(${k})` : ct === 'i32' ? `sc_i(${k})` : `sc_u(${k})`;
  };
  const av = val(ta, 'a', 0), bv = val(tb, 'b', 1);
  const bits = (v: Operand) => (typeof v === 'number' ? (ct === 'f32' ? f32Bits(v) : v >>> 0) : 0);
  const condTrue = computeType(cond.dtype) === 'f32' ? 'ld_c(idx) != 0.0' : computeType(cond.dtype) === 'i32' ? 'ld_c(idx) != 0' : 'ld_c(idx) != 0u';
  const out = runMap({ label: `where:${ta ? 'T' : 'S'}${tb ? 'T' : 'S'}`, body: `return select(${bv}, ${av}, ${condTrue});`,
    inputs: Object.entries(inputs).map(([name, tensor]) => ({ name, tensor })), outShape: shape, outDtype: dt,
    scalars: [bits(a), bits(b)] });
  const diff = [ta, tb].filter((t): t is Tensor => t !== null);
  return record('where', out, diff, (g, [c]) => {
    const grads: (Tensor | null)[] = [];
    for (const [t, keepWhenTrue] of [[ta, true], [tb, false]] as [Tensor | null, boolean][]) {
      if (!t) continue;
      if (!t.requiresGrad) { grads.push(null); continue; }
      const full = fusedMap(`dwhere${keepWhenTrue}`, keepWhenTrue ? 'select(0.0, g, c != 0.0)' : 'select(g, 0.0, c != 0.0)', { g, c }, g.shape, t.dtype);
      grads.push(sumToShape(full, t.shape));
      full.dispose();
    }
    return grads;
  }, [cond]);
}

/** A float tensor of the same shape and dtype filled with `value` (for gradients and masks). */
export function fullLike(t: Tensor, value: number, dtype: DType = t.dtype): Tensor {
  const ct = computeType(dtype);
  const v = ct === 'f32' ? 'sc_f(0)' : ct === 'i32' ? 'sc_i(0)' : 'sc_u(0)';
  return noGrad(() => runMap({ label: 'fill', body: `return ${v};`, inputs: [], outShape: t.shape, outDtype: dtype, device: t.device,
    scalars: [ct === 'f32' ? f32Bits(value) : value >>> 0] }));
}

